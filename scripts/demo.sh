#!/usr/bin/env bash
# The main job on the local lab, for real: set up, bring up a real OpenStack and the
# departments' legacy SSH hosts, check the census, derive the plan, `pulumi up` the lab stack
# (each server becomes a host on its own Neutron port), migrate wave 1 with Ansible, verify
# with testinfra, prove the network (what must work works, what must fail fails), and report.
# Re-running it does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
OC=.venv/bin/onecloud
step() { printf '\n\033[1;36m==> %s\033[0m\n' "$*"; }

step "setup (venv, lab packages, Pulumi toolchain)"
scripts/setup.sh
step "lab up (OpenStack on 127.0.0.1 + legacy hosts from the census)"
$OC lab up
step "census check"
$OC census check
step "plan"
$OC plan
step "pulumi up -s lab (network segments, tenancy, workloads, DR; servers become hosts on their ports)"
$OC stack up -s lab --yes
step "migrate wave 1"
$OC migrate --wave 1
mkdir -p reports
step "verify wave 1"
$OC verify --wave 1 --junit reports/verify-wave1.xml
step "verify the network of wave 1 (security groups, routers, the one egress, floating IPs: probed from the servers and the internet)"
$OC verify --network --wave 1 --internet lab-internet --junit reports/network-wave1.xml
step "report"
$OC report
$OC report --format html --out reports/programme.html
printf '\nThe programme dashboard: %s\n' "$(pwd)/reports/programme.html"
printf 'The lab stays up: `make lab-status`, `onecloud stack output -s lab`, `make lab-down`.\n'
