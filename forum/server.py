"""``forum serve``: several web workers and the job runner, on gunicorn.

Why gunicorn (with uvicorn's worker class) rather than uvicorn's own
``--workers``: uvicorn starts each worker as a fresh interpreter, so each would
load Kiwi and the sentence encoders for itself (~650 MB apiece); gunicorn loads
the app once (``preload_app``) and forks the workers, which then share those
pages. Gunicorn also brings what an operator expects of a process manager:
graceful shutdown (SIGTERM: workers finish the requests they have within
``graceful_timeout``), replacing a worker that dies or hangs, and a rolling
restart of the workers on SIGHUP.

The process tree: this process is gunicorn's master (the arbiter); its
children are the web workers and one job runner (``forum worker``: related
questions, repeated topics, email; see :mod:`forum.jobs`), which the master
restarts if it dies and stops with the rest. Web workers run no jobs.

Logging: the app writes the access log and the security log itself
(:mod:`forum.requestlog`, :mod:`forum.seclog`), with UTC timestamps, the
client's address as :func:`forum.ratelimit.client_ip` decides it and the
request id; uvicorn's own access log (no time, the socket's address) is off.
Proxy headers are the app's business too: uvicorn's handling of
``X-Forwarded-For`` (``forwarded_allow_ips``, which believed any local client)
is off in :class:`ForumWorker`; ``FORUM_TRUSTED_PROXIES`` names the proxies.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from uvicorn_worker import UvicornWorker

from forum.config import Settings
from forum.requestlog import configure_logging
from forum.runtime import runtime_of

log = logging.getLogger("forum.server")

#: seconds a worker has to finish its requests after SIGTERM, and the job runner to stop
GRACEFUL_TIMEOUT = 30
#: the job runner is started again at most this often when it keeps dying
RESTART_BACKOFF = 5.0
#: the job runner's CPU priority below the web workers' (``nice``): its batches
#: (encoding, the topic job, loading the encoders when it starts) wait for the
#: cores when pages need them, instead of taking them from pages
JOBS_NICE = 10


class ForumWorker(UvicornWorker):  # type: ignore[misc]
    """Uvicorn's worker without its proxy-header middleware: the app decides who
    the client is (``FORUM_TRUSTED_PROXIES``), and writes the access log."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        "proxy_headers": False,
        "access_log": False,
    }


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class OneThreadKiwi:
    """Kiwi without worker threads, analysing a batch one text at a time. Threads do
    not survive a fork: Kiwi's batch analysis hands texts to its threads and would
    wait for them forever in a forked worker. A request's few texts do not need them."""

    def __init__(self) -> None:
        from kiwipiepy import Kiwi

        self._kiwi = Kiwi(num_workers=1)

    def tokenize(self, text: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(text, str):
            return self._kiwi.tokenize(text, *args, **kwargs)
        return [self._kiwi.tokenize(t, *args, **kwargs) for t in text]


def preload() -> None:
    """What every worker needs, loaded once in the master and shared by the forked
    workers (~650 MB): Kiwi, without threads, and the encoders of a similar-questions
    lookup."""
    import forum.text
    from forum.topics import embed

    # The process's one Kiwi, set before anything loads the threaded one. (Set from
    # here: any change to forum/text.py changes its analysis fingerprint, and every
    # forum would analyse all its threads again.)
    with forum.text._kiwi_lock:
        forum.text._kiwi_instance = OneThreadKiwi()
    forum.text.get_analyzer().terms("워밍업 warm up")
    embed.load_for_queries()


def compile_templates(app: Any) -> None:
    """Every template compiled once in the master and shared by the workers, so
    that no worker compiles them (tens of ms for a large page) while it serves its
    first requests, when a new worker is slowest anyway."""
    from forum.runtime import runtime_of

    env = runtime_of(app).templates.env
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)


class JobProcess:
    """The job runner, a child of the master: ``python -m forum worker``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def alive(self) -> bool:
        if self.proc is None or self.proc.returncode is not None:
            return False
        try:
            # The master reaps every child it has (waitpid(-1)), this one too:
            # ask the kernel whether the process is still there.
            os.kill(self.proc.pid, 0)
        except ProcessLookupError:
            self.proc.returncode = -1
            return False
        return True

    def ensure(self) -> None:
        if self.alive() or time.monotonic() - self.started < RESTART_BACKOFF:
            return
        if self.proc is not None:
            log.error("the job runner (pid %s) stopped; starting it again", self.proc.pid)
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "forum", "worker", "--nice", str(JOBS_NICE)], env=self.env)
        log.info("job runner started (pid %s)", self.proc.pid)

    def stop(self, timeout: float = GRACEFUL_TIMEOUT) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            try:
                self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            except ChildProcessError:  # reaped by the master's SIGCHLD handling
                pass
        if self.alive():
            self.proc.kill()
            self.proc.returncode = -9


class ForumArbiter(Arbiter):  # type: ignore[misc]
    """Gunicorn's master, which also keeps the job runner going."""

    jobs: JobProcess | None = None

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.jobs is not None:
            self.jobs.ensure()

    def stop(self, graceful: bool = True) -> None:
        jobs, self.jobs = self.jobs, None  # no restart while stopping
        if jobs is not None and jobs.proc is not None and jobs.alive():
            jobs.proc.send_signal(signal.SIGTERM)  # it stops while the workers finish their requests
        super().stop(graceful)
        if jobs is not None:
            jobs.stop()


class ForumServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any], *, jobs_env: dict[str, str] | None) -> None:
        self.settings = settings
        self.options = options
        self.jobs_env = jobs_env
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from forum.app import create_app

        preload()
        app = create_app(self.settings.with_(jobs="off"))
        compile_templates(app)
        # What the master loaded (Kiwi, the encoders, the app) lives as long as the
        # workers: moved out of the cyclic collector's sight, so that a worker's full
        # collections do not walk it. They paused a worker for up to a few hundred
        # ms, long enough for requests to pile up past the admission limit (100 reads
        # + 10 replies/s on SQLite, 4 admitted per worker: 66 refused, none with the
        # freeze), and writing the collector's marks into the shared pages copied them.
        gc.freeze()
        return app

    def run(self) -> None:
        arbiter = ForumArbiter(self)
        if self.jobs_env is not None:
            arbiter.jobs = JobProcess(self.jobs_env)
        arbiter.run()


def _post_fork(server: Any, worker: Any) -> None:
    """In a new worker: connections are never shared with the master (it opened
    none, but a pool must not be inherited)."""
    app = server.app.wsgi()
    for engine in runtime_of(app).engines:
        engine.sync_engine.dispose(close=False)


def web_worker_environment(environ: Any) -> None:
    """OpenMP and BLAS on one thread in the web processes (the master sets it before
    it loads the encoders, so the forked workers inherit it), unless the operator
    chose: a worker encodes one short query at a time, and with N workers on N cores
    the idle threads of each spin on the cores the others need (measured on 2 cores
    under load, when e5 ran on OpenMP: 60-160 ms of CPU a query instead of 14). The
    job runner, which encodes batches, keeps every core (its environment is copied
    before)."""
    environ.setdefault("OMP_NUM_THREADS", "1")


def serve(settings: Settings, *, host: str, port: int, workers: int, jobs: bool, access_log: bool = True) -> None:
    """Runs the forum until SIGTERM or SIGINT (Ctrl+C)."""
    env = dict(os.environ)
    # a process started from a Settings object (forum demo) tells its children where the data is
    env["FORUM_DATA_DIR"] = str(settings.data_dir)
    env["FORUM_DATABASE_URL"] = settings.database_url
    web_worker_environment(os.environ)
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "forum.server.ForumWorker",
        "preload_app": True,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "timeout": 60,
        "keepalive": 5,
        "errorlog": "-",
        "loglevel": "info",
        "post_fork": _post_fork,
        "proc_name": "forum",
        # Not believed from anyone: the app reads forwarded headers from FORUM_TRUSTED_PROXIES.
        "forwarded_allow_ips": "",
    }
    configure_logging(access=access_log)
    ForumServer(settings, options, jobs_env=env if jobs else None).run()
