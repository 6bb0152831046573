"""What people are sent and read: notification e-mails (`emails`), reports (`reports`) and
webhooks, through the outbox; their words and formats are `i18n`'s."""
