"""gunicorn config of the multiprocess metrics test: the documented worker-exit hook."""

from leaklint.runtime.metrics import mark_worker_dead


def child_exit(server, worker):
    # A dead worker's live gauges (RSS, tasks, ...) leave the scrape; its counters stay summed.
    mark_worker_dead(worker.pid)
