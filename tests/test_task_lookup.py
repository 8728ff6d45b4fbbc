"""Finding a task by its name (config.jobs.task_named) in a process that has imported no tasks module yet."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST_LOOKUPS_AT_ONCE = """
import os, threading, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from config.jobs import task_named
barrier, failures = threading.Barrier(16), []
def ask():
    barrier.wait()
    try:
        task_named("study.tasks.recommend_for_participant")
    except Exception as error:
        failures.append(repr(error))
threads = [threading.Thread(target=ask) for _ in range(16)]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
print(len(failures), failures[:1])
"""


def test_a_web_worker_s_threads_all_find_a_task_when_they_ask_for_it_first_at_once():
    """A fresh process (no tasks module imported yet), sixteen threads asking at the same moment, as a gthread
    worker's do after a restart: none is told the task is not registered (Celery's autodiscovery returns,
    importing nothing, to a thread that asks while another discovers). Three processes, since it is a race."""
    processes = [
        subprocess.Popen([sys.executable, "-c", FIRST_LOOKUPS_AT_ONCE], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        for _ in range(3)
    ]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        assert out.split()[0] == "0", out
