"""Notifications: the one way the product tells people something — in-app, e-mail, Slack-compatible and
signed generic webhooks, grouped, per the user's preferences, delivered from the outbox."""
