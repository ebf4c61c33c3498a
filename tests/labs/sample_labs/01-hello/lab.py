"""A tiny lab for the framework's own tests: write three greetings to a topic."""

from minikafka.labs import Lab, LabContext, Report

LAB = Lab(number=1, slug="hello", title="Hello, log", brokers=1, protocol_only=True)
TOPIC = "greetings"


def start(ctx: LabContext) -> None:
    from minikafka_clients import NewTopic

    with ctx.admin() as admin:
        admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)])


def check(ctx: LabContext, report: Report) -> None:
    count = len(ctx.read_records(TOPIC))
    report.expect(count >= 3, f"'{TOPIC}' holds {count} records (3 or more)",
                  f"'{TOPIC}' holds {count} records, not 3", hint="step 1: produce three lines")
    answer = ctx.work_dir / "answer.txt"
    report.expect(answer.exists() and answer.read_text().strip() == "3", "answer.txt says 3",
                  "no answer.txt with the record count", hint="step 2")


def solve(ctx: LabContext) -> None:
    ctx.run_solution("greet")
    (ctx.work_dir / "answer.txt").write_text("3\n")
