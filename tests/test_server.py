"""forum serve's process set-up (forum.server)."""

from forum.server import web_worker_environment


def test_web_workers_run_e5_on_one_thread_unless_the_operator_chose():
    environ: dict[str, str] = {}
    web_worker_environment(environ)
    assert environ["OMP_NUM_THREADS"] == "1"
    chosen = {"OMP_NUM_THREADS": "2"}
    web_worker_environment(chosen)
    assert chosen["OMP_NUM_THREADS"] == "2"


def test_the_master_freezes_what_it_loaded_before_the_workers_fork(settings):
    import asyncio
    import gc

    import forum.text
    from forum.app import close_app
    from forum.server import ForumServer

    kiwi = forum.text._kiwi_instance  # the master's own one-thread Kiwi is set by load()
    gc.unfreeze()
    try:
        app = ForumServer(settings, {"workers": 1}, jobs_env=None).load()
        try:
            assert gc.get_freeze_count() > 0  # out of the collector's sight in every worker
            # Every template is compiled before the workers fork.
            from forum.runtime import runtime_of

            env = runtime_of(app).templates.env
            assert env.cache is not None
            loaded = {template.name for template in env.cache.values()}
            assert "threads/detail.html" in loaded and "errors/503.html" in loaded
            assert len(loaded) == len(env.list_templates(extensions=["html"]))
        finally:
            asyncio.run(close_app(app))
    finally:
        gc.unfreeze()
        forum.text._kiwi_instance = kiwi


def test_the_job_runner_runs_below_the_web_workers_cpu_priority(settings):
    """Its batches wait for the cores when pages need them (forum.server.JOBS_NICE)."""
    import os
    import time

    from forum.server import JOBS_NICE, JobProcess

    env = dict(os.environ)
    env.update(
        FORUM_DATA_DIR=str(settings.data_dir), FORUM_DATABASE_URL=settings.database_url, FORUM_TOPICS_INTERVAL="0"
    )
    runner = JobProcess(env)
    runner.ensure()
    try:
        assert runner.proc is not None and runner.alive()
        assert runner.proc.args[-2:] == ["--nice", str(JOBS_NICE)]
        expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + JOBS_NICE)
        deadline = time.monotonic() + 30
        nice = os.getpriority(os.PRIO_PROCESS, runner.proc.pid)
        while nice != expected and time.monotonic() < deadline:
            time.sleep(0.1)  # the child lowers its own priority as it starts
            nice = os.getpriority(os.PRIO_PROCESS, runner.proc.pid)
        assert nice == expected
    finally:
        runner.stop(timeout=20)
    assert not runner.alive()
