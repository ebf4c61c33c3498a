"""``minikafka groups``: list, describe, reset the offsets of, and delete consumer groups.

The options and output are ``kafka-consumer-groups.sh``'s. ``describe``
prints, for every partition the group owns or has committed offsets for::

    GROUP   TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID        HOST        CLIENT-ID
    orders  orders  0          40              45              5    rdkafka-3c1e...    /127.0.0.1  rdkafka

*CURRENT-OFFSET* is the group's committed offset (the next record it will
read), *LOG-END-OFFSET* the offset the next produced record will get (the high
watermark, from ListOffsets LATEST), and *LAG* their difference: how many
records the group has yet to process. A ``-`` means "none": no committed
offset yet, or no member owns the partition. ``--members`` shows one line per
member instead, ``--state`` one line for the whole group.

*CONSUMER-BYTE-RATE* (last column; also in ``--members --verbose``) is what
the broker lets the member's client fetch, in bytes per second: its
effective ``consumer_byte_rate`` quota, resolved from DescribeClientQuotas
as a broker resolves it (``QuotaTable.effective_quota``) for the user
every connection has without authentication (``ANONYMOUS``). ``-`` means no
quota. A consumer over its quota is throttled, so lag that grows while the
consumer is up may be a quota rather than a slow application; a note on
stderr says which quota entity limits each client.

``reset-offsets`` moves a group's committed offsets, for instance to replay a
topic. Like Kafka it only works on a group with no members (the members would
overwrite the new offsets with their next commit, and the coordinator refuses
an admin commit while the group is active), and it is a dry run unless
``--execute`` is given: it prints ``GROUP TOPIC PARTITION NEW-OFFSET`` either way.
New offsets are clamped to ``[log start offset, log end offset]``, as Kafka does.

The work is done by the bundled ``Admin`` client (``minikafka_clients``) inside
one ``trio.run``, as ``kafka-consumer-groups.sh`` does it with Java's ``Admin``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys

ACTIONS = ["list", "describe", "reset-offsets", "delete"]

# Kafka's group state names (ClassicGroupState / ConsumerGroupState), by lower case.
STATES = {name.lower(): name for name in (
    "Empty", "Stable", "PreparingRebalance", "CompletingRebalance", "Dead",
    "Assigning", "Reconciling")}


class GroupCommandError(Exception):
    """A request the tool refuses, with the one-line reason Kafka's tool prints."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="what to do")
    parser.add_argument("group", nargs="?", metavar="GROUP",
                        help="the consumer group (every action but list)")
    parser.add_argument("--bootstrap-server", required=True, metavar="HOST:PORT",
                        help="a broker to connect to (several: comma-separated)")
    parser.add_argument("--state", nargs="?", const="", metavar="STATE[,STATE]",
                        help="list: show each group's state, only these states if given; "
                        "describe: show the group's coordinator, assignor and state")
    parser.add_argument("--members", action="store_true",
                        help="describe: one line per member instead of per partition")
    parser.add_argument("--verbose", action="store_true",
                        help="describe --members: also each member's instance id and partitions")
    _add_reset_arguments(parser)


def _add_reset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", action="append", default=[], metavar="TOPIC[:P,P]",
                        help="reset-offsets: a topic, optionally only some partitions; repeatable")
    parser.add_argument("--all-topics", action="store_true",
                        help="reset-offsets: every topic the group has committed offsets for")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--to-earliest", action="store_true", help="to the log start offset")
    target.add_argument("--to-latest", action="store_true", help="to the log end offset")
    target.add_argument("--to-datetime", metavar="YYYY-MM-DDTHH:MM:SS[.sss][TZ]",
                        help="to the first record at or after this time (local time if no "
                        "zone is given)")
    target.add_argument("--to-offset", type=int, metavar="N", help="to offset N")
    target.add_argument("--shift-by", type=int, metavar="N",
                        help="by N from the committed offset (negative: back)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--execute", action="store_true", help="reset-offsets: commit the new offsets")
    mode.add_argument("--dry-run", action="store_true",
                      help="reset-offsets: only show the new offsets (the default)")


def run(args: argparse.Namespace) -> int:
    import trio

    if args.action != "list" and not args.group:
        raise GroupCommandError(f"groups {args.action} needs a GROUP")
    return trio.run(_run, args)


async def _run(args: argparse.Namespace) -> int:
    from minikafka_clients import Admin

    config = {"bootstrap.servers": args.bootstrap_server, "client.id": "minikafka-groups"}
    async with Admin(config) as admin:
        return await _ACTIONS[args.action](admin, args)


# -- list -----------------------------------------------------------------------

async def _list(admin, args) -> int:
    if args.state is None:
        for group in await admin.list_consumer_groups():
            print(group.group_id)
        return 0
    listed = await admin.list_consumer_groups(parse_states(args.state))
    print_table(["GROUP", "STATE"], [[g.group_id, g.state or "Unknown"] for g in listed])
    return 0


def parse_states(text: str) -> list[str]:
    """``"stable,empty"`` -> ``["Stable", "Empty"]`` (Kafka's spelling); ``""`` -> all."""
    states = []
    for word in (w.strip() for w in text.split(",") if w.strip()):
        if word.lower() not in STATES:
            raise GroupCommandError(f"unknown group state '{word}'; valid states are: "
                                    + ", ".join(STATES.values()))
        states.append(STATES[word.lower()])
    return states


# -- describe -------------------------------------------------------------------

async def _describe(admin, args) -> int:
    group = await _existing_group(admin, args.group)
    if args.state is not None:
        _print_state(group)
        return 0
    _warn_about_state(group)
    quotas = await member_quotas(admin, group)
    if args.members:
        _print_members(group, verbose=args.verbose, quotas=quotas)
    else:
        rows = await offset_rows(admin, group)
        print_table(_OFFSET_COLUMNS, [row.cells() + [_quota_cell(row.member, quotas)]
                                      for row in rows])
    _print_quota_notes(group, quotas)
    return 0


async def _existing_group(admin, group_id: str):
    from minikafka.errors import ErrorCode, KafkaError

    group = await _described(admin, group_id)
    if not group.exists:
        raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"consumer group '{group_id}' does not exist")
    return group


async def _described(admin, group_id: str):
    """The group's ``GroupDescription`` (state ``Dead``: no such group)."""
    return (await admin.describe_consumer_groups([group_id]))[group_id]


def _warn_about_state(group) -> None:
    # Kafka's tool writes these notes to stderr, so stdout stays a clean table.
    if group.state == "Empty":
        print(f"\nConsumer group '{group.group_id}' has no active members.", file=sys.stderr)
    elif group.state != "Stable":
        print(f"\nWarning: Consumer group '{group.group_id}' is rebalancing.", file=sys.stderr)


def _print_state(group) -> None:
    coordinator = group.coordinator
    print_table(["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"],
                [[group.group_id, f"{coordinator.host}:{coordinator.port} ({coordinator.node_id})",
                  group.protocol or "-", group.state, str(len(group.members))]])


def _print_members(group, *, verbose: bool, quotas: dict) -> None:
    columns = ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]
    if verbose:
        columns[2:2] = ["GROUP-INSTANCE-ID"]
        columns += ["CONSUMER-BYTE-RATE", "ASSIGNMENT"]
    rows = []
    for member in group.members:
        count = sum(len(ps) for ps in member.assignment.values())
        row = [group.group_id, member.member_id, member.client_host, member.client_id, str(count)]
        if verbose:
            row[2:2] = [member.group_instance_id or "-"]
            row += [_quota_cell(member, quotas), format_assignment(member.assignment)]
        rows.append(row)
    print_table(columns, rows)


def format_assignment(assignment: dict[str, list[int]]) -> str:
    """``{"t": [0, 1], "u": [2]}`` -> ``t(0,1), u(2)`` (``-`` if empty), as Kafka shows it."""
    if not assignment:
        return "-"
    return ", ".join(f"{topic}({','.join(map(str, ps))})" for topic, ps in sorted(assignment.items()))


_OFFSET_COLUMNS = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                   "CONSUMER-ID", "HOST", "CLIENT-ID", "CONSUMER-BYTE-RATE"]

# Without authentication every connection is this principal; its quota user name.
ANONYMOUS_USER = "ANONYMOUS"


async def member_quotas(admin, group) -> dict[str, tuple[float, tuple] | None]:
    """``{client_id: (consumer_byte_rate, entity) or None}`` for the group's members."""
    from minikafka.cli import client_quotas as cq
    from minikafka.errors import ErrorCode, KafkaError
    from minikafka.quotas.entity import CONSUMER_BYTE_RATE, QuotaTable

    if not group.members:
        return {}
    try:
        every_quota = await cq.describe_quotas(admin, [], strict=False)
    except KafkaError as exc:
        if exc.code != ErrorCode.UNSUPPORTED_VERSION:
            raise
        every_quota = {}  # a broker without client quotas: nobody is limited
    table = QuotaTable(every_quota)
    return {m.client_id: table.effective_quota(ANONYMOUS_USER, m.client_id, CONSUMER_BYTE_RATE)
            for m in group.members}


def _quota_cell(member, quotas) -> str:
    from minikafka.cli.client_quotas import java_double

    found = quotas.get(member.client_id) if member is not None else None
    return "-" if found is None else java_double(found[0])


def _print_quota_notes(group, quotas) -> None:
    from minikafka.cli.client_quotas import describe_entity, java_double

    for client_id, found in sorted(quotas.items()):
        if found is not None:
            limit, entity = found
            print(f"\nClient '{client_id}' may fetch {java_double(limit)} bytes/s "
                  f"(consumer_byte_rate of {describe_entity(entity)}).", file=sys.stderr)


@dataclasses.dataclass
class OffsetRow:
    """One line of ``describe``: a partition, its offsets and its owner (None: ``-``)."""

    group_id: str
    topic: str
    partition: int
    committed_offset: int | None = None
    log_end_offset: int | None = None
    member: object = None  # a groups.MemberDescription

    @property
    def lag(self) -> int | None:
        if self.committed_offset is None or self.log_end_offset is None:
            return None
        return self.log_end_offset - self.committed_offset

    def cells(self) -> list[str]:
        m = self.member
        return [self.group_id, self.topic, str(self.partition), _dash(self.committed_offset),
                _dash(self.log_end_offset), _dash(self.lag), _dash(m and m.member_id),
                _dash(m and m.client_host), _dash(m and m.client_id)]


def _dash(value) -> str:
    return "-" if value is None or value == "" else str(value)


async def offset_rows(admin, group) -> list[OffsetRow]:
    """Every partition the group's members own or it has committed offsets for."""
    rows: dict[tuple[str, int], OffsetRow] = {}
    for member in group.members:
        for topic, partitions in member.assignment.items():
            for partition in partitions:
                rows[(topic, partition)] = OffsetRow(group.group_id, topic, partition, member=member)
    for (topic, partition), committed in (
            await admin.list_consumer_group_offsets(group.group_id)).items():
        row = rows.setdefault((topic, partition), OffsetRow(group.group_id, topic, partition))
        row.committed_offset = committed.offset
    for key, offset in (await _log_end_offsets(admin, list(rows))).items():
        rows[key].log_end_offset = offset
    return [rows[key] for key in sorted(rows)]


async def _log_end_offsets(admin, partitions) -> dict[tuple[str, int], int]:
    """Per topic, so that one deleted topic shows ``-`` instead of failing the command."""
    from minikafka.errors import KafkaError
    from minikafka_clients.admin import LATEST

    found = {}
    for topic in sorted({t for t, _ in partitions}):
        try:
            found.update(await _offsets_at(admin, [tp for tp in partitions if tp[0] == topic],
                                           LATEST))
        except KafkaError:
            continue
    return found


async def _offsets_at(admin, partitions, timestamp: int) -> dict[tuple[str, int], int]:
    """ListOffsets with one spec (EARLIEST, LATEST or a time in ms) for every partition."""
    found = await admin.list_offsets({tp: timestamp for tp in partitions})
    return {tp: info.offset for tp, info in found.items()}


def print_table(columns: list[str], rows: list[list[str]]) -> None:
    """Left-aligned columns as wide as their widest cell, the last one unpadded."""
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    print()  # Kafka's tool starts every table with an empty line
    for cells in [columns] + rows:
        padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths)]
        print(" ".join(padded + [cells[-1]]))


# -- reset-offsets -----------------------------------------------------------------

async def _reset_offsets(admin, args) -> int:
    _check_reset_arguments(args)
    group = await _described(admin, args.group)
    if group.is_active:
        raise GroupCommandError(
            f"Assignments can only be reset if the group '{args.group}' is inactive, "
            f"but the current state is {group.state}.")
    committed = {tp: c.offset for tp, c in
                 (await admin.list_consumer_group_offsets(args.group)).items()}
    partitions = await _partitions_to_reset(admin, args, committed)
    new_offsets = await _new_offsets(admin, args, partitions, committed)
    if args.execute:
        await admin.alter_consumer_group_offsets(args.group, new_offsets)
    print_table(["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
                [[args.group, t, str(p), str(o)] for (t, p), o in sorted(new_offsets.items())])
    if not args.execute:
        print("\nDry run: nothing was committed; add --execute to reset the offsets.",
              file=sys.stderr)
    return 0


def _check_reset_arguments(args) -> None:
    if not args.topic and not args.all_topics:
        raise GroupCommandError("reset-offsets needs --topic or --all-topics")
    if args.topic and args.all_topics:
        raise GroupCommandError("reset-offsets takes --topic or --all-topics, not both")
    targets = [args.to_earliest, args.to_latest, args.to_datetime is not None,
               args.to_offset is not None, args.shift_by is not None]
    if not any(targets):
        raise GroupCommandError("reset-offsets needs one of --to-earliest, --to-latest, "
                                "--to-datetime, --to-offset or --shift-by")


async def _partitions_to_reset(admin, args, committed) -> list[tuple[str, int]]:
    if args.all_topics:
        if not committed:
            raise GroupCommandError(f"group '{args.group}' has no committed offsets to reset")
        return sorted(committed)
    partitions = []
    for spec in args.topic:
        topic, wanted = parse_topic_spec(spec)
        metadata = (await admin.describe_topics([topic]))[topic]
        for index in wanted or sorted(metadata.partitions):
            if index not in metadata.partitions:
                raise GroupCommandError(f"topic '{topic}' has no partition {index}")
            partitions.append((topic, index))
    return sorted(set(partitions))


def parse_topic_spec(spec: str) -> tuple[str, list[int]]:
    """``"t"`` -> ``("t", [])`` (all partitions); ``"t:0,2"`` -> ``("t", [0, 2])``."""
    topic, _, partitions = spec.partition(":")
    try:
        indexes = [int(p) for p in partitions.split(",") if p.strip()]
    except ValueError:
        raise GroupCommandError(f"bad --topic '{spec}': expected TOPIC or TOPIC:P,P,...") from None
    if not topic:
        raise GroupCommandError(f"bad --topic '{spec}': no topic name")
    return topic, indexes


async def _new_offsets(admin, args, partitions, committed) -> dict[tuple[str, int], int]:
    """The target offset of each partition, clamped to the log's current range."""
    from minikafka_clients.admin import EARLIEST, LATEST

    earliest = await _offsets_at(admin, partitions, EARLIEST)
    latest = await _offsets_at(admin, partitions, LATEST)
    if args.to_earliest:
        return earliest
    if args.to_latest:
        return latest
    if args.to_datetime is not None:
        found = await _offsets_at(admin, partitions, parse_datetime_ms(args.to_datetime))
        # No record at or after that time: the group starts at the end, as in Kafka.
        return {tp: latest[tp] if offset < 0 else offset for tp, offset in found.items()}
    if args.to_offset is not None:
        wanted = {tp: args.to_offset for tp in partitions}
    else:
        wanted = {tp: _committed(committed, tp, args.group) + args.shift_by for tp in partitions}
    return {tp: min(max(offset, earliest[tp]), latest[tp]) for tp, offset in wanted.items()}


def _committed(committed, tp, group_id: str) -> int:
    if tp not in committed:
        raise GroupCommandError(f"group '{group_id}' has no committed offset for "
                                f"{tp[0]}-{tp[1]} to shift from")
    return committed[tp]


def parse_datetime_ms(text: str) -> int:
    """``2024-05-01T12:00:00[.000][Z|+02:00]`` -> ms since the epoch (local time if no zone)."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise GroupCommandError(f"bad --to-datetime '{text}': expected "
                                "YYYY-MM-DDTHH:MM:SS[.sss] with an optional zone") from None
    return int(moment.timestamp() * 1000)  # a naive datetime is taken as local time


# -- delete ----------------------------------------------------------------------------

async def _delete(admin, args) -> int:
    await admin.delete_consumer_groups([args.group])
    print(f"Deletion of requested consumer groups ('{args.group}') was successful.")
    return 0


_ACTIONS = {"list": _list, "describe": _describe, "reset-offsets": _reset_offsets,
            "delete": _delete}
