"""Delivery of click events to configured endpoints: Standard Webhooks, durable cursors."""
