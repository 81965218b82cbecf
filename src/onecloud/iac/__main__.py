"""The Pulumi program: validate the stack config, read the plan, declare the components.

Only wiring lives here. A user mistake (bad config key, missing plan, clouds.yaml entry) is
raised as `pulumi.RunError`, which the language host prints as one message without a traceback.
"""

from __future__ import annotations

import pulumi

from onecloud import paths
from onecloud.errors import OnecloudError
from onecloud.iac._config import load_stack_config
from onecloud.iac._credentials import check_reachable, from_clouds_yaml
from onecloud.iac._images import builtin_image
from onecloud.iac._program import declare
from onecloud.plan import load_plan


def _all_config() -> dict[str, object]:
    """Every config value the engine passed (`ns:key -> value`)."""
    raw = dict(pulumi.runtime.config.get_config_env())
    raw.update(pulumi.runtime.config.CONFIG.get())
    return raw


def main() -> None:
    stack = pulumi.get_stack()
    stack_file = paths.stacks_dir() / f"Pulumi.{stack}.yaml"
    cfg = load_stack_config(_all_config(), stack, stack_file)
    plan_path = paths.resolve(cfg.plan) if cfg.plan else paths.plan_file()
    plan = load_plan(plan_path)
    credentials = from_clouds_yaml(cfg.cloud)
    check_reachable(credentials.auth_url, cfg.cloud)
    image_file = cfg.image.file
    if image_file == "builtin":
        image_file = str(builtin_image())
    elif image_file is not None:
        image_file = str(paths.resolve(image_file))
    declare(cfg, plan, credentials, image_file)


try:
    main()
except OnecloudError as exc:
    raise pulumi.RunError(f"onecloud: {exc}") from None
