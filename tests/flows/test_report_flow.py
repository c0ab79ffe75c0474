"""The weekly report flow through Prefect: the page written, one email per manager with it attached, an artifact."""

from __future__ import annotations

import email
import email.policy
import importlib
import mailbox
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.adapters.reports.portfolio import build_portfolio

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
MANAGERS = 'Pat Lee <pat@vendor.example>, "Ruiz, Dana" <dana@vendor.example>'


def _reports_in(maildir: Path) -> list[email.message.EmailMessage]:
    messages = [
        email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
        for m in mailbox.Maildir(maildir, create=False)
    ]
    return [m for m in messages if str(m["X-Onboarding-Key"]).startswith("report:")]  # type: ignore[misc]


def test_the_report_flow_writes_emails_and_publishes_the_headline(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    report_module = importlib.import_module("onboarding_flows.report")
    portfolio = build_portfolio(tmp_path, projects=3, days=45)
    monkeypatch.setenv("ONBOARDING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ONBOARDING_MANAGERS", MANAGERS)
    report_module._built.cache_clear()
    report_module.application.cache_clear()

    state = report_module.report(as_of=portfolio.as_of, return_state=True)
    summary = state.result()

    page = Path(summary["path"])
    assert page == tmp_path / "reports" / f"onboarding-report-{portfolio.as_of.isoformat()}.html"
    text = page.read_text(encoding="utf-8")
    assert text.count('<svg class="chart"') == 6
    assert summary["queued"] == 2 and summary["delivered"]["sent"] >= 2
    sent = _reports_in(tmp_path / "maildir")
    week = portfolio.as_of.isocalendar()
    key = f"{week.year}-W{week.week:02d}"
    assert sorted(str(m["X-Onboarding-Key"]) for m in sent) == [
        f"report:{key}:dana@vendor.example",
        f"report:{key}:pat@vendor.example",
    ]
    for message in sent:
        (attachment,) = message.iter_attachments()
        assert attachment.get_content() == text
        body = message.get_body(("plain",))
        assert body is not None and summary["headline"]["Median time to first value"] in body.get_content()

    async def artifact() -> str:
        # this run's: other tests' report runs publish under the same key on the same server, and the server's
        # order among them (by id) is no order in time
        async with get_client() as client:
            (found,) = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[report_module.ARTIFACT_KEY]),
                    flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]),
                )
            )
            return str(found.data)

    async def run_name() -> str:
        async with get_client() as client:
            return (await client.read_flow_run(state.state_details.flow_run_id)).name

    assert asyncio.run(run_name()) == f"report-{key}"  # named after the ISO week it reports on
    markdown = asyncio.run(artifact())
    assert markdown.startswith("# Onboarding report, ")
    assert f"| Median time to first value | {summary['headline']['Median time to first value']} |" in markdown

    again = report_module.report(as_of=portfolio.as_of)  # the same week: nothing new is sent
    assert again["queued"] == 0 and again["delivered"]["sent"] == 0
    assert len(_reports_in(tmp_path / "maildir")) == 2
    later = report_module.report(as_of=date.fromordinal(portfolio.as_of.toordinal() + 7))  # next week: sent again
    assert later["queued"] == 2
    report_module._built.cache_clear()
    report_module.application.cache_clear()


def test_serve_schedules_the_report_weekly_and_delivery_every_minute_without_overlap() -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    serve_module = importlib.import_module("onboarding_flows.serve")
    sweep, weekly, delivery = serve_module.deployments(sweep_cron="*/15 * * * *", report_cron="0 7 * * 1")
    assert (sweep.name, weekly.name, delivery.name) == ("sweep", "weekly-report", "deliver")
    assert [s.schedule.cron for s in weekly.schedules] == ["0 7 * * 1"]  # Mondays, 07:00 UTC
    assert [s.schedule.cron for s in sweep.schedules] == ["*/15 * * * *"]
    assert [s.schedule.interval for s in delivery.schedules] == [timedelta(minutes=1)]
    assert sweep.parameters == {"deliver": False}  # its emails go with the next delivery, not at its end
    for deployment in (sweep, weekly, delivery):
        limit = deployment.concurrency_options
        assert deployment.concurrency_limit == 1
        assert limit is not None and limit.collision_strategy is ConcurrencyLimitStrategy.CANCEL_NEW
    every_five, _ = serve_module.deployments(
        sweep_every=timedelta(seconds=5), report_cron="0 7 * * 1", shards=8, deliver_every=None
    )
    assert [s.schedule.interval for s in every_five.schedules] == [timedelta(seconds=5)]
    assert every_five.concurrency_limit == 1
    assert every_five.parameters == {"shards": 8}  # and it delivers at its end
    with pytest.raises(ValueError, match="either a cron or an interval"):
        serve_module.deployments(sweep_cron="* * * * *", sweep_every=timedelta(seconds=5), report_cron="0 7 * * 1")


def test_the_flow_refuses_an_out_file_it_did_not_write_before_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report_flow = importlib.import_module("onboarding_flows.report")
    notes = tmp_path / "notes.html"
    notes.write_text("my notes\n", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["onboarding_flows.report", "--out", str(notes)])
    monkeypatch.setattr(report_flow, "report", lambda *args: pytest.fail("the flow ran"))
    with pytest.raises(SystemExit) as exited:
        report_flow.main()
    assert exited.value.code == 2
    assert "[report-file-not-ours]" in capsys.readouterr().err
    assert notes.read_text(encoding="utf-8") == "my notes\n"
