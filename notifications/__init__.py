"""Messages to donors: SMS backends now; the outbox, templates and schedules come later."""
