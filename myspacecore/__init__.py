# The Celery app is imported by whatever needs it, not by every start-up: the workers and beat
# (`celery -A myspacecore`), and every tasks module, so that @shared_task binds to it before
# a task is sent. A management command or a page that sends no task never imports Celery.


def __getattr__(name: str):
    if name == "celery_app":
        from .celery import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ("celery_app",)
