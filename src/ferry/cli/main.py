"""The ``ferry`` command group: global options, and the one place errors become exit codes."""

from __future__ import annotations

import click

from ferry.cli.group import FerryGroup, forget_quick_end, leave

__all__ = ["LAZY_COMMANDS", "SHORT_HELP", "cli", "main"]

# Commands imported only when invoked (or listed in --help): name -> (module, attribute).
# ``ferry --help`` and every command then import click and the one command's module only.
LAZY_COMMANDS = {
    "cat": ("ferry.cli.storage_cmds", "cat"),
    "config": ("ferry.cli.config_cmds", "config"),
    "cp": ("ferry.cli.copy_cmds", "cp"),
    "dev": ("ferry.cli.dev_cmds", "dev"),
    "exec": ("ferry.cli.exec_cmds", "exec_"),
    "experiments": ("ferry.cli.experiments_cmds", "experiments"),
    "init": ("ferry.cli.sync_cmds", "init"),
    "ls": ("ferry.cli.storage_cmds", "ls"),
    "mb": ("ferry.cli.storage_cmds", "mb"),
    "models": ("ferry.cli.models_cmds", "models"),
    "mv": ("ferry.cli.copy_cmds", "mv"),
    "objects": ("ferry.cli.models_cmds", "objects"),
    "presign": ("ferry.cli.storage_cmds", "presign"),
    "pull": ("ferry.cli.sync_cmds", "pull"),
    "push": ("ferry.cli.sync_cmds", "push"),
    "rb": ("ferry.cli.storage_cmds", "rb"),
    "resolve": ("ferry.cli.sync_cmds", "resolve"),
    "rm": ("ferry.cli.storage_cmds", "rm"),
    "run": ("ferry.cli.runs_cmds", "run"),
    "runs": ("ferry.cli.runs_cmds", "runs"),
    "status": ("ferry.cli.sync_cmds", "status"),
    "sweep": ("ferry.cli.runs_cmds", "sweep_cmd"),
    "sync": ("ferry.cli.sync_cmds", "sync"),
    "ui": ("ferry.cli.ui_cmds", "ui"),  # light; ferry.ui (starlette, uvicorn) loads when it runs
}

# The first paragraph of each command's help, so that ``ferry --help`` lists the commands
# without importing them (a test keeps it equal to the commands' own); None for a hidden
# command. A command missing here is imported for its help: slower, still right.
SHORT_HELP: dict[str, str | None] = {
    "cat": "Write an object's bytes to standard output (as 'aws s3 cp s3://... -').",
    "config": "Inspect ferry's settings.",
    "cp": "Copy a file or (with -r) a folder: local <-> S3, or S3 -> S3 server-side.",
    "dev": "Local stand-ins for AWS services.",
    "exec": None,  # hidden: what an instance runs, not listed
    "experiments": "Browse tracked experiments (a local root or s3://bucket/prefix).",
    "init": "Create a workspace (ferry.toml) syncing with REMOTE_ROOT (s3://bucket/prefix).",
    "ls": "List objects like 'aws s3 ls': s3://bucket/prefix or a local folder.",
    "mb": "Make a bucket (in the configured region).",
    "models": "Browse a model store (ROOT: s3://bucket/prefix or a folder).",
    "mv": "Move a file or (with -r) a folder: copied, then each source copied is deleted.",
    "objects": "Objects stored with s3store (PATH: --path, FERRY_PATH or ferry.toml).",
    "presign": "Print a URL that lets anyone GET the object, for a while, without credentials.",
    "pull": "Bring the bucket's changes to the local folders (MAPPINGS, or all that may be "
    "pulled).",
    "push": "Send the local folders' changes to the bucket (MAPPINGS, or all that may be pushed).",
    "rb": "Remove a bucket (empty, or emptied first with --force).",
    "resolve": "Settle conflicts a 'manual' mapping left (exit code 20): both sides keep one "
    "version.",
    "rm": "Delete an object, or (with -r) the folder URL names: s3://b/runs/run-1 is the "
    "object runs/run-1 and everything below runs/run-1/, never runs/run-10/.",
    "run": "Run training on EC2: provision, follow, push, tear down, report.",
    "runs": "Training runs on EC2: list, watch, logs, stop, report, setup.",
    "status": "What 'ferry sync' would do, per mapping, without doing it.",
    "sweep": "Find resources of dead runs (by tag) and remove them.",
    "sync": "Sync each mapping its own way (pull, push, or both with its conflict rule); or, "
    "as 'aws s3 sync', make DST hold SRC: ferry sync SRC DST [--delete] (local <-> S3, "
    "S3 -> S3).",
    "ui": "A read-only dashboard of the experiments in ROOT(s) (local folders or "
    "s3://bucket/prefix), of model stores (--models) and of this machine's training runs "
    "(those 'ferry runs ls' lists), on http://127.0.0.1:8765.",
}


@click.group(cls=FerryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--endpoint-url", help="S3-compatible endpoint (default: AWS, or AWS_ENDPOINT_URL).")
@click.option("--region", help="AWS region code, e.g. eu-central-1.")
@click.option("--profile", help="AWS profile from ~/.aws/config.")
@click.option(
    "--no-sign-request",
    is_flag=True,
    help="Send requests unsigned: a public bucket, no credentials needed.",
)
@click.option(
    "--debug",
    is_flag=True,
    help="Show tracebacks and log every request (SSE-C keys redacted).",
)
@click.version_option(package_name="ferry")
@click.pass_context
def cli(
    ctx: click.Context,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    no_sign_request: bool,
    debug: bool,
) -> None:
    """ferry keeps a machine-learning team's work in S3."""
    ctx.obj = {
        "endpoint_url": endpoint_url,
        "region": region,
        "profile": profile,
        "no_sign_request": no_sign_request or None,  # None: the other layers decide
    }
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
        ctx.meta["ferry.debug"] = True


cli.lazy = LAZY_COMMANDS
cli.listed_help = SHORT_HELP


def main() -> None:
    forget_quick_end()  # only a command of this call may end the process at once
    try:
        cli(prog_name="ferry")
    except SystemExit as done:
        leave(done)  # at once, for a command that allowed it
        raise
