"""Partition logs on disk: Log (segments, roll, retention, flush), LogManager, LogConfig."""

from minikafka.log.config import LogConfig
from minikafka.log.log import AppendInfo, Log
from minikafka.log.manager import LogManager

__all__ = ["AppendInfo", "Log", "LogConfig", "LogManager"]
