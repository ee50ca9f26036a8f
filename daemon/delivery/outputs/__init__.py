"""Outputs that take delivered matches as data (daemon.delivery.outputs.contract); apprise's
channels take rendered messages. Each output kind is one module here."""
