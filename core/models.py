from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """The last sign of life of each Celery worker, written by a periodic task.

    Shows operators (on /health/ and in the admin) that a worker is consuming the queue,
    which a broker ping alone cannot tell.
    """

    hostname = models.CharField(_("worker"), max_length=255, unique=True)
    last_seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.hostname
