"""Kafka producers: publish rating events to the ``ratings`` topic."""
