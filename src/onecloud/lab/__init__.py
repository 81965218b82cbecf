"""The lab: onecloud's embedded default, made of real parts on one machine.

`onecloud.lab.cloud` runs a real OpenStack (Debian's packages) on 127.0.0.1;
`onecloud.lab.hosts` runs network-namespace SSH hosts. Both keep their state under
`onecloud.paths.lab_dir()`.
"""
