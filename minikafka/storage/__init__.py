"""Partition logs on disk: Log (segments, roll, retention, flush), LogManager, LogConfig."""

from minikafka.storage.config import LogConfig
from minikafka.storage.log import AppendInfo, Log
from minikafka.storage.manager import LogManager

__all__ = ["AppendInfo", "Log", "LogConfig", "LogManager"]
