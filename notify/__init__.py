"""What people read: reports and notification e-mails, in French and English, from one set of
templates and one catalog of words per locale (`notify/templates/`)."""

from notify.render import Email, render_email, render_report, supported_locale

__all__ = ["Email", "render_email", "render_report", "supported_locale"]
