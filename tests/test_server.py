"""forum serve's process set-up (forum.server)."""

from forum.server import web_worker_environment


def test_web_workers_run_e5_on_one_thread_unless_the_operator_chose():
    environ: dict[str, str] = {}
    web_worker_environment(environ)
    assert environ["OMP_NUM_THREADS"] == "1"
    chosen = {"OMP_NUM_THREADS": "2"}
    web_worker_environment(chosen)
    assert chosen["OMP_NUM_THREADS"] == "2"
