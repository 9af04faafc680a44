"""pytest fixtures of the end-to-end suite: an SMTP sink, a shared Nexus
instance for the session, and a factory for tests that need their own
(different settings, or services they stop on purpose), and the instance
of a test_lambda*.py module.

Run: NEXUS_BUILD_DIR=<abs build dir> /usr/bin/python3 -m pytest tests/e2e -q -rs
Under CI=true a test that would skip (e.g. binaries not built) fails instead.
With NEXUS_E2E_BACKENDS=postgres+s3 every instance keeps its storage metadata
in PostgreSQL and its chunks in an S3 bucket (backends.py); run that pass
with -m "not local_store".
"""

import os

import pytest

import backends
from harness import Instance, SmtpSink, new_user, register, registered_user, skip_or_fail
from lambda_runs import MARKER, MARKER_VAR, runc_path


def _build_dir():
    d = os.environ.get("NEXUS_BUILD_DIR", "")
    return os.path.abspath(d) if d else ""


def _require_binaries():
    missing = Instance.missing_binaries(_build_dir())
    if missing:
        skip_or_fail("Nexus binaries not available: " + ", ".join(missing))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "local_store: looks at the local chunk directory or nexus.db by hand; "
        "not run with NEXUS_E2E_BACKENDS=postgres+s3")


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session", autouse=True)
def _session_backends(request):
    """The back-ends every instance of the session runs on (backends.py)."""
    if backends.wanted() != backends.POSTGRES_S3:
        yield None
        return
    if request.session.items and any(
            item.get_closest_marker("local_store") for item in request.session.items):
        pytest.fail(f"{backends.ENV}={backends.POSTGRES_S3} runs with -m 'not local_store'",
                    pytrace=False)
    sink = request.getfixturevalue("smtp_sink")
    _require_binaries()

    def make_store(env):
        return Instance(_build_dir(), sink, env=env, name="chunkstore", embedded=True).start()

    profile = backends.PostgresS3(make_store, skip_or_fail)
    try:
        backends.active = profile.start()
        yield profile
    finally:
        backends.active = None
        profile.stop()


@pytest.fixture(scope="session")
def _shared_instance(smtp_sink):
    _require_binaries()
    inst = Instance(_build_dir(), smtp_sink, name="shared")
    try:
        inst.start()
        yield inst
    finally:
        inst.stop()
        inst.cleanup()


@pytest.fixture
def nexus(request, _shared_instance):
    """The session's shared instance (default settings, relaxed rate limits)."""
    _instances_of(request.node).append(_shared_instance)
    dead = {n: p.returncode for n, p in _shared_instance.procs.items() if p.poll() is not None}
    if dead:
        # An earlier test killed a shared service: say so instead of letting
        # every later test fail with connection errors.
        pytest.fail(f"shared instance services exited: {dead}\n{_shared_instance.logs_text()}",
                    pytrace=False)
    return _shared_instance


def _instance_factory(smtp_sink, default_name, on_start=None):
    """A generator fixture's body: yields make(env=None, name=..., start=True),
    which starts an instance (on_start(inst) first), and stops and removes
    every instance it made when the fixture ends."""
    _require_binaries()
    started = []

    def make(env=None, name=default_name, start=True):
        inst = Instance(_build_dir(), smtp_sink, env=env, name=name)
        started.append(inst)
        if on_start is not None:
            on_start(inst)
        return inst.start() if start else inst

    try:
        yield make
    finally:
        for inst in started:
            inst.stop()
            inst.cleanup()


@pytest.fixture
def nexus_factory(request, smtp_sink):
    """Starts a private instance: nexus_factory(env={...}, name="...", start=True)."""
    yield from _instance_factory(smtp_sink, "private",
                                 lambda inst: _instances_of(request.node).append(inst))


@pytest.fixture(scope="module")
def module_nexus_factory(smtp_sink):
    """Like nexus_factory, but its instances live until the module's last test
    has run (for suites that share one instance with special settings).
    Tests pass the instance to attach_logs so a failure shows its logs."""
    yield from _instance_factory(smtp_sink, "module")


@pytest.fixture(scope="module")
def lambda_instance(module_nexus_factory):
    """One instance for a test_lambda*.py module; its services carry MARKER."""
    if os.geteuid() != 0:
        skip_or_fail("lambda needs root (nexusd starts runc containers)")
    if runc_path() is None:
        skip_or_fail("lambda needs runc (apt-get install runc)")
    inst = module_nexus_factory(env={MARKER_VAR: MARKER}, name="lambda")
    user = new_user("lambda")
    register(inst, user)
    inst.user = user
    return inst


@pytest.fixture
def lam(lambda_instance, attach_logs):
    """The module's lambda instance, checked alive."""
    attach_logs(lambda_instance)
    dead = {n: p.returncode for n, p in lambda_instance.procs.items() if p.poll() is not None}
    if dead:
        pytest.fail(f"lambda instance services exited: {dead}", pytrace=False)
    return lambda_instance


@pytest.fixture
def alice(nexus):
    """A registered user of the shared instance."""
    return registered_user(nexus, "alice")


@pytest.fixture
def bob(nexus):
    """Another registered user of the shared instance."""
    return registered_user(nexus, "bob")


@pytest.fixture
def attach_logs(request):
    """attach_logs(inst): on failure of the current test, show inst's logs too."""
    return lambda inst: _instances_of(request.node).append(inst)


def _instances_of(item):
    if not hasattr(item, "_nexus_instances"):
        item._nexus_instances = []
    return item._nexus_instances


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attaches the services' logs to the report (shown with the failure)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for inst in getattr(item, "_nexus_instances", []):
            report.sections.append((f"nexus logs: {inst.label}", inst.logs_text()))
