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
