"""Issue #8: bad input gives one clear error, never a traceback.

A table of bad inputs across the command line and the Python API. Each CLI case must end
with one ``error:`` line that names the problem and the fix, and the exit code of its
error class (click's own usage errors: 2). Each API case must raise a ``FerryError``
subclass with both a problem and a fix. The counts are printed at the end of the run
(``-s``): tried / clear / traceback.
"""

from __future__ import annotations

import base64
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ferry.cli.main import cli
from ferry.devserver import LocalS3Server
from ferry.errors import (
    BucketNotFoundError,
    ConfigError,
    EndpointError,
    FerryError,
    NotFoundError,
    OfflineError,
    RubiconException,
)


@dataclass(frozen=True)
class Env:
    """What a case may use: a scratch folder, a bucket on the local server, its URL."""

    tmp: Path
    bucket: str
    endpoint: str


@dataclass(frozen=True)
class Cli:
    name: str
    args: tuple[str, ...]
    code: int
    says: str = ""
    setup: Callable[[Env], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    endpoint: bool = True  # pass --endpoint-url of the local server


@dataclass(frozen=True)
class Api:
    name: str
    call: Callable[[Env], Any]
    error: type[FerryError]
    says: str = ""


def write(relative: str, text: str | bytes, mode: int | None = None) -> Callable[[Env], None]:
    def setup(env: Env) -> None:
        path = env.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        if mode is not None:
            path.chmod(mode)

    return setup


def folder(relative: str) -> Callable[[Env], None]:
    return lambda env: (env.tmp / relative).mkdir(parents=True, exist_ok=True)


def both(*steps: Callable[[Env], None]) -> Callable[[Env], None]:
    def setup(env: Env) -> None:
        for step in steps:
            step(env)

    return setup


WS = '[workspace]\nremote_root = "s3://BUCKET/team"\n'
MAP = '[[workspace.mapping]]\nname = "logs"\nlocal = "data/logs"\nremote = "logs"\n'
KEY64 = base64.b64encode(os.urandom(32)).decode()

CLI_CASES = [
    # -- URLs, buckets, keys
    Cli("ls without s3://", ("ls", "demo"), 5, "s3://demo"),
    Cli("ls of s3:// alone", ("ls", "s3://"), 3, "names no bucket"),
    Cli("bucket in capitals", ("ls", "s3://My_Bucket/"), 3, "not a valid S3 bucket name"),
    Cli("s3:// twice", ("ls", "s3://s3://x/"), 3, "includes 's3://'"),
    Cli("bucket too short", ("ls", "s3://ab/"), 3, "3-63 characters"),
    Cli("missing bucket", ("ls", "s3://no-such-bucket-zz9/"), 5, "does not exist"),
    Cli("other scheme", ("ls", "http://example.com/x"), 3, "neither an s3:// URL"),
    Cli("ls of nothing", ("ls", "s3://BUCKET/nothing/here/"), 5, "Nothing at"),
    Cli("cp missing local file", ("cp", "missing.txt", "s3://BUCKET/x"), 5, "missing.txt"),
    Cli("cp missing object", ("cp", "s3://BUCKET/missing.txt", "out.txt"), 5, "No object"),
    Cli("cp folder without -r", ("cp", "adir", "s3://BUCKET/x"), 3, "-r", folder("adir")),
    Cli(
        "cp -r of a file",
        ("cp", "-r", "f.txt", "s3://BUCKET/x"),
        3,
        "not a folder",
        write("f.txt", "x"),
    ),
    Cli(
        "cp local to local",
        ("cp", "f.txt", "g.txt"),
        3,
        "Both locations are local",
        write("f.txt", "x"),
    ),
    Cli("cp a prefix without -r", ("cp", "s3://BUCKET/pre/", "out"), 3, "-r"),
    Cli(
        "cp where ferry may not write",
        ("cp", "s3://BUCKET/obj.txt", "/sys/ferry-x/out"),
        6,
        "Permission denied",
    ),
    Cli(
        "cp to an existing file used as a folder",
        ("cp", "s3://BUCKET/obj.txt", "f.txt/x"),
        3,
        "f.txt",
        write("f.txt", "x"),
    ),
    Cli(
        "cp of an unreadable file",
        ("cp", "/proc/self/mem", "s3://BUCKET/x"),
        16,
        "Input/output error",
    ),
    Cli("rm a local path", ("rm", "f.txt"), 3, "local", write("f.txt", "x")),
    Cli("rm a missing object", ("rm", "s3://BUCKET/missing.txt"), 5, "No object"),
    Cli("rm -r of nothing", ("rm", "-r", "s3://BUCKET/none/"), 5, "Nothing at"),
    Cli(
        "key with a control character",
        ("cp", "f.txt", "s3://BUCKET/a\tb"),
        3,
        "control character",
        write("f.txt", "x"),
    ),
    Cli(
        "key with ..",
        ("cp", "f.txt", "s3://BUCKET/a/../b"),
        3,
        "not a valid relative key",
        write("f.txt", "x"),
    ),
    # -- settings from options and the environment
    Cli(
        "endpoint without scheme",
        ("--endpoint-url", "127.0.0.1:4566", "ls", "s3://BUCKET/"),
        3,
        "http://",
        endpoint=False,
    ),
    Cli("place-name region", ("--region", "Frankfurt", "ls", "s3://BUCKET/"), 3, "eu-central-1"),
    Cli("made-up region", ("--region", "moon-base", "ls", "s3://BUCKET/"), 3, "not a region code"),
    Cli(
        "unknown profile",
        ("--profile", "nobody", "ls", "s3://BUCKET/"),
        3,
        "not in your AWS config",
    ),
    Cli(
        "unreachable endpoint",
        ("--endpoint-url", "http://127.0.0.1:9", "ls", "s3://b-x/"),
        8,
        "Could not connect",
        endpoint=False,
    ),
    Cli(
        "concurrency not a number",
        ("ls", "s3://BUCKET/"),
        3,
        "positive whole number",
        env={"FERRY_CONCURRENCY": "lots"},
    ),
    Cli(
        "zero attempts",
        ("ls", "s3://BUCKET/"),
        3,
        "positive whole number",
        env={"FERRY_MAX_ATTEMPTS": "0"},
    ),
    Cli(
        "unknown storage class",
        ("cp", "f.txt", "s3://BUCKET/x"),
        3,
        "INTELLIGENT_TIERING",
        write("f.txt", "x"),
        env={"FERRY_STORAGE_CLASS": "COLD"},
    ),
    Cli(
        "short SSE-C key",
        ("ls", "s3://BUCKET/"),
        3,
        "openssl rand",
        env={"FERRY_SSE_C_KEY": "c2hvcnQ="},
    ),
    Cli(
        "SSE-C key not base64",
        ("ls", "s3://BUCKET/"),
        3,
        "neither base64",
        env={"FERRY_SSE_C_KEY": "not a key!"},
    ),
    Cli(
        "key file missing",
        ("ls", "s3://BUCKET/"),
        3,
        "does not exist",
        env={"FERRY_SSE_C_KEY_FILE": "/nonexistent/key"},
    ),
    Cli(
        "key file is a folder",
        ("ls", "s3://BUCKET/"),
        3,
        "folder",
        folder("keydir"),
        env={"FERRY_SSE_C_KEY_FILE": "keydir"},
    ),
    Cli(
        "key file others can read",
        ("ls", "s3://BUCKET/"),
        3,
        "chmod 600",
        write("k.key", KEY64, 0o644),
        env={"FERRY_SSE_C_KEY_FILE": "k.key"},
    ),
    Cli(
        "offline not a boolean",
        ("objects", "ls"),
        3,
        "true or false",
        env={"FERRY_OFFLINE": "maybe", "FERRY_PATH": "s3://BUCKET/o/"},
    ),
    Cli(
        "per-service endpoint without scheme",
        ("ls", "s3://BUCKET/"),
        3,
        "http://",
        env={"AWS_ENDPOINT_URL_EC2": "localhost:5000"},
    ),
    # -- ferry.toml
    Cli(
        "ferry.toml not TOML",
        ("config", "show"),
        3,
        "not valid TOML",
        write("ferry.toml", "[ferry\nregion="),
    ),
    Cli(
        "ferry.toml not UTF-8",
        ("config", "show"),
        3,
        "ferry.toml",
        write("ferry.toml", b"\xff\xfe\x00bad"),
    ),
    Cli(
        "ferry.toml typo in [ferry]",
        ("config", "show"),
        3,
        "Did you mean 'region'",
        write("ferry.toml", '[ferry]\nregoin = "eu-west-1"\n'),
    ),
    Cli(
        "ferry.toml wrong type",
        ("config", "show"),
        3,
        "positive whole number",
        write("ferry.toml", '[ferry]\nconcurrency = "x"\n'),
    ),
    Cli(
        "ferry.toml list for a string",
        ("config", "show"),
        3,
        "not text",
        write("ferry.toml", '[ferry]\nprofile = ["a"]\n'),
    ),
    Cli(
        "ferry.toml key in the file",
        ("config", "show"),
        3,
        "FERRY_SSE_C_KEY",
        write("ferry.toml", f'[ferry]\nsse_c_key = "{KEY64}"\n'),
    ),
    Cli(
        "ferry.toml unknown table",
        ("config", "show"),
        3,
        "Did you mean 'workspace'",
        write("ferry.toml", "[worksapce]\n"),
    ),
    Cli(
        "ferry.toml [ferry] not a table",
        ("config", "show"),
        3,
        "must be a table",
        write("ferry.toml", 'ferry = "x"\n'),
    ),
    Cli(
        "ferry.toml endpoints not URLs",
        ("config", "show"),
        3,
        "map service names",
        write("ferry.toml", "[ferry.endpoints]\nec2 = 5\n"),
    ),
    # -- workspaces
    Cli("push without a workspace", ("push",), 3, "ferry init"),
    Cli(
        "workspace without remote_root",
        ("push",),
        3,
        "remote_root",
        write("ferry.toml", "[workspace]\n"),
    ),
    Cli(
        "remote_root without s3://",
        ("push",),
        3,
        "s3://bucket/prefix",
        write("ferry.toml", '[workspace]\nremote_root = "bucket/team"\n'),
    ),
    Cli(
        "mapping without local",
        ("push",),
        3,
        "lacks 'local'",
        write("ferry.toml", WS + '[[workspace.mapping]]\nremote = "x"\n'),
    ),
    Cli(
        "direction misspelt",
        ("push",),
        3,
        "pull, push, both",
        write("ferry.toml", WS + MAP + 'direction = "pul"\n'),
    ),
    Cli(
        "unknown conflict rule",
        ("push",),
        3,
        "local-wins",
        write("ferry.toml", WS + MAP + 'conflict = "mine-wins"\n'),
    ),
    Cli(
        "mapping key misspelt",
        ("push",),
        3,
        "Did you mean 'direction'",
        write("ferry.toml", WS + MAP + 'directon = "pull"\n'),
    ),
    Cli(
        "overlapping mappings",
        ("push",),
        3,
        "overlap",
        write("ferry.toml", WS + MAP + MAP.replace('"logs"', '"logs2"', 1)),
    ),
    Cli(
        "mapping outside the workspace",
        ("push",),
        3,
        "not a folder inside",
        write("ferry.toml", WS + MAP.replace("data/logs", "../elsewhere")),
    ),
    Cli(
        "mapping at an absolute path",
        ("push",),
        3,
        "not a folder inside",
        write("ferry.toml", WS + MAP.replace("data/logs", "/etc")),
    ),
    Cli(
        "mapping remote not a string",
        ("push",),
        3,
        "not a string",
        write("ferry.toml", WS + '[[workspace.mapping]]\nlocal = "d"\nremote = 5\n'),
    ),
    Cli(
        "unknown mapping named",
        ("push", "nosuch"),
        3,
        "No mapping named",
        write("ferry.toml", WS + MAP),
    ),
    Cli("push of a missing folder", ("push",), 3, "mkdir -p", write("ferry.toml", WS + MAP)),
    Cli("init twice", ("init", "s3://BUCKET/team"), 3, "already exists", write("ferry.toml", WS)),
    Cli("init without s3://", ("init", "bucket/team"), 3, "s3://bucket/prefix"),
    Cli("delete threshold not a number", ("push", "--delete-threshold", "abc"), 2, "abc"),
    Cli("unknown command", ("pusj",), 2, "No such command"),
    Cli("unknown option", ("ls", "--bogus", "s3://BUCKET/"), 2, "--bogus"),
    # -- objects, models, experiments
    Cli("objects without a path", ("objects", "get", "x"), 3, "FERRY_PATH"),
    Cli(
        "object missing", ("objects", "get", "missing", "--path", "s3://BUCKET/o/"), 5, "No object"
    ),
    Cli(
        "models of a missing bucket",
        ("models", "ls", "s3://no-such-bucket-zz9/models"),
        5,
        "does not exist",
    ),
    Cli("models of a missing folder", ("models", "ls", "no-such-root"), 5, "no-such-root"),
    Cli("experiments of a missing root", ("experiments", "ls", "no-such-root"), 5, "no-such-root"),
    Cli(
        "experiments of a missing project",
        ("experiments", "ls", "root", "Nope"),
        13,
        "No project with name 'Nope' found",
        folder("root"),
    ),
    Cli(
        "compare by an unknown metric",
        ("experiments", "compare", "root", "p", "--sort", "auc"),
        3,
        "No metric named 'auc'",
        lambda e: _project_with_a_metric(e),
    ),
]

API_CASES = [
    Api("open_store of ftp://", lambda e: _open("ftp://x/y"), ConfigError, "Unsupported"),
    Api("open_store of s3://", lambda e: _open("s3://"), ConfigError, "names no bucket"),
    Api("key escaping the root", lambda e: _mem().put("../x", b"1"), ConfigError, "relative"),
    Api("key with NUL", lambda e: _mem().put("a\x00b", b"1"), ConfigError, "control"),
    Api("empty key", lambda e: _mem().get(""), ConfigError, "relative key"),
    Api("key not a string", lambda e: _mem().put(123, b"1"), ConfigError, "str"),  # type: ignore[arg-type]
    Api("data not bytes", lambda e: _mem().put("k", "text"), ConfigError, "bytes"),  # type: ignore[arg-type]
    Api(
        "put_file of a missing file",
        lambda e: _mem().put_file("k", e.tmp / "none"),
        NotFoundError,
        "none",
    ),
    Api("put_file of a folder", lambda e: _mem().put_file("k", e.tmp), ConfigError, "folder"),
    Api("unknown setting", lambda e: _settings({"regoin": "x"}), ConfigError, "regoin"),
    Api("short SSE-C key", lambda e: _key(b"short"), ConfigError, "32 bytes"),
    Api(
        "place-name region", lambda e: _s3_options(region="Frankfurt"), ConfigError, "eu-central-1"
    ),
    Api("s3store without a path", lambda e: _objects().s3store(1, "k"), ConfigError, "FERRY_PATH"),
    Api(
        "s3store with an empty key",
        lambda e: _objects().s3store(1, "", "memory://o"),
        ConfigError,
        "relative key",
    ),
    Api(
        "s3store of a lock",
        lambda e: _objects().s3store(threading.Lock(), "k", "memory://o"),
        ConfigError,
        "cannot be pickled",
    ),
    Api(
        "s3read of a missing key",
        lambda e: _objects().s3read("missing", "memory://o2"),
        NotFoundError,
        "No object",
    ),
    Api(
        "s3read with a key not a string",
        lambda e: _objects().s3read(5, "memory://o"),  # type: ignore[arg-type]
        ConfigError,
        "str",
    ),
    Api(
        "model store of s3://bucket",
        lambda e: _models().from_aws_s3("s3://b"),
        ConfigError,
        "without s3://",
    ),
    Api(
        "model store in Frankfurt",
        lambda e: _models().from_aws_s3("bkt", region="Frankfurt"),
        ConfigError,
        "eu-central-1",
    ),
    Api(
        "model store of a missing bucket",
        lambda e: _models().from_aws_s3("no-such-bucket-zz9"),
        BucketNotFoundError,
        "does not exist",
    ),
    Api(
        "upload of an unpicklable model",
        lambda e: (
            _models()
            .from_file_system(str(e.tmp), create_directory=True)
            .upload("d", model=threading.Lock())
        ),
        ConfigError,
        "pickle",
    ),
    Api(
        "rubicon project missing",
        lambda e: _rubicon(e).get_project("Nope"),
        RubiconException,
        "No project",
    ),
    Api(
        "rubicon root with an invalid bucket",
        lambda e: _rubicon_at("s3://My_Bucket/root"),
        ConfigError,
        "bucket name",
    ),
    Api("offline and not cached", lambda e: _cached_offline(e).get("k"), OfflineError, "offline"),
    Api(
        "unreachable endpoint",
        lambda e: _open(f"s3://{e.bucket}", endpoint="http://127.0.0.1:9").get("k"),
        EndpointError,
        "Could not connect",
    ),
]


def _project_with_a_metric(env: Env) -> None:
    from ferry import Rubicon

    rubicon = Rubicon(persistence="filesystem", root_dir=str(env.tmp / "root"))
    rubicon.create_project("p").log_experiment("e").log_metric("loss", 0.5)


def _open(url: str, endpoint: str | None = None) -> Any:
    from ferry.storage import open_store
    from ferry.storage.s3 import S3Options

    options = S3Options(endpoint_url=endpoint, region="us-east-1", max_attempts=1)
    return open_store(url, s3_options=options)


def _mem() -> Any:
    from ferry.storage.memory import MemoryStore

    return MemoryStore("bad-inputs")


def _settings(overrides: dict[str, str]) -> Any:
    from ferry.config import load_settings

    return load_settings(overrides)


def _key(raw: bytes) -> Any:
    from ferry.storage.s3 import SseCKey

    return SseCKey(raw)


def _s3_options(**kwargs: Any) -> Any:
    from ferry.storage.s3 import S3Options

    return S3Options(**kwargs)


def _objects() -> Any:
    import ferry.objects

    return ferry.objects


def _models() -> Any:
    from ferry.models import ModelStore

    return ModelStore


def _rubicon(env: Env) -> Any:
    from ferry import Rubicon

    return Rubicon(persistence="filesystem", root_dir=str(env.tmp / "rubicon"))


def _rubicon_at(root: str) -> Any:
    from ferry import Rubicon

    return Rubicon(persistence="filesystem", root_dir=root)


def _cached_offline(env: Env) -> Any:
    from ferry.storage.cached import CachedStore

    return CachedStore(_mem(), env.tmp / "cache", offline=True)


TALLY = {"tried": 0, "clear": 0, "traceback": 0}


@pytest.fixture
def env(
    s3_server: LocalS3Server,
    bucket: str,
    tmp_path: Path,
    dev_credentials: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Env:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.url)
    monkeypatch.setenv("FERRY_REGION", "us-east-1")
    monkeypatch.setenv("FERRY_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("FERRY_CACHE_DIR", str(tmp_path / "cache"))
    from ferry.storage.s3 import S3Options, S3Store

    S3Store(f"s3://{bucket}", S3Options(endpoint_url=s3_server.url, region="us-east-1")).put(
        "obj.txt", b"x"
    )
    return Env(tmp_path, bucket, s3_server.url)


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_cli_bad_input_is_one_clear_line(
    case: Cli, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.setup:
        case.setup(env)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.replace("BUCKET", env.bucket))
    args = [a.replace("BUCKET", env.bucket) for a in case.args]
    if case.endpoint:
        args = ["--endpoint-url", env.endpoint, *args]
    toml = env.tmp / "ferry.toml"
    if toml.is_file() and b"BUCKET" in toml.read_bytes():
        toml.write_bytes(toml.read_bytes().replace(b"BUCKET", env.bucket.encode()))
    TALLY["tried"] += 1
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        for path in env.tmp.rglob("*"):  # let pytest clean up what a case locked
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IRWXU)
    output = result.output
    if "Traceback" in output or (result.exception and not isinstance(result.exception, SystemExit)):
        TALLY["traceback"] += 1
        raise AssertionError(f"a traceback for {case.name}: {result.exception!r}\n{output}")
    assert result.exit_code == case.code, output
    assert case.says in output, output
    if case.code != 2:
        errors = [line for line in output.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, output
        assert "bug" not in errors[0], output
    TALLY["clear"] += 1


@pytest.mark.parametrize("case", API_CASES, ids=[c.name for c in API_CASES])
def test_api_bad_input_is_a_ferry_error_with_a_fix(case: Api, env: Env) -> None:
    TALLY["tried"] += 1
    try:
        case.call(env)
    except FerryError as exc:
        assert isinstance(exc, case.error), repr(exc)
        assert case.says in str(exc), str(exc)
        # rubicon-ml's own messages are kept word for word (users match on them).
        assert exc.problem and (exc.fix or isinstance(exc, RubiconException)), str(exc)
        TALLY["clear"] += 1
        return
    except Exception as exc:
        TALLY["traceback"] += 1
        raise AssertionError(f"{case.name}: raw {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{case.name}: no error at all")


def test_the_table_is_large_enough() -> None:
    assert len(CLI_CASES) + len(API_CASES) >= 80


def teardown_module() -> None:
    print(
        f"\nbad inputs: tried {TALLY['tried']}, clear {TALLY['clear']}, "
        f"traceback {TALLY['traceback']}"
    )
