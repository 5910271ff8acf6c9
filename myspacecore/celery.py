"""The Celery application: settings come from Django's, under the CELERY_ prefix."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myspacecore.settings.local")

app = Celery("myspacecore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Database connections in a worker: kept between tasks, with Django's rules applied around
# each task as around a request (close_old_connections: CONN_MAX_AGE, a connection left
# unusable by an error, and the CONN_HEALTH_CHECKS ping before a kept connection's next
# use). Celery's own Django fix-up would instead close them around every task, a new
# PostgreSQL connection per delivery (see CELERY_DB_REUSE_MAX), and with reuse on it
# applies none of those rules itself.


def _eager(task) -> bool:
    # Run eagerly, a task is inside the caller's request, perhaps its transaction: hands off.
    return bool(getattr(task.request, "is_eager", False))


@task_prerun.connect
@task_postrun.connect
def database_connections_around_task(sender=None, **kwargs) -> None:
    if _eager(sender):
        return
    from django.db import close_old_connections

    close_old_connections()
