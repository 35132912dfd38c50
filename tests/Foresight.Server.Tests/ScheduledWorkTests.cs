using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Foresight.Server.Features.Mail;
using Foresight.Server.Features.Reports;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Foresight.Server.Tests;

/// <summary>
/// Work nobody has to be online for: invitations, reminders before a deadline, closing at the deadline, the report
/// after it, thanks when it is published; across a restart; with every message checked at an SMTP sink on 127.0.0.1,
/// and every job safe to run twice.
/// </summary>
public sealed class ScheduledWorkTests : IAsyncLifetime
{
    readonly SmtpSink _sink = new();
    ForesightFactory _app = null!;
    const string S = QuickStudy.S;

    public Task InitializeAsync()
    {
        _app = Configure(new ForesightFactory());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _sink.DisposeAsync();
    }

    ForesightFactory Configure(ForesightFactory app) => app
        .With("Foresight:Mail:Host", "127.0.0.1")
        .With("Foresight:Mail:Port", _sink.Port.ToString())
        .With("Foresight:Mail:Security", "None")
        .With("Foresight:Mail:From", "Foresight <foresight@test.local>")
        .With("Foresight:Mail:FirstRetry", "00:00:01");

    static string Text(MimeMessage m) => m.TextBody ?? "";
    static string To(MimeMessage m) => m.To.Mailboxes.Single().Address;

    static string LinkIn(MimeMessage m) =>
        Text(m).Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("http://foresight.test/", StringComparison.Ordinal));

    static bool Subject(MimeMessage m, string english, string chinese) => (m.Subject ?? "").StartsWith(english) || (m.Subject ?? "").StartsWith(chinese);
    static bool IsInvitation(MimeMessage m) => Subject(m, "Invitation", "邀请");
    static bool IsReminder(MimeMessage m) => Subject(m, "Reminder", "提醒");
    static bool IsThanks(MimeMessage m) => Subject(m, "Thank you", "感谢");

    /// <summary>Waits until the survey's outbox holds <paramref name="count"/> messages, every one sent.</summary>
    static Task WaitUntilAllSentAsync(HttpClient coordinator, int count) =>
        Wait.ForAsync(async () => (await coordinator.GetOkAsync($"{S}/outbox")).AsArray(),
            outbox => outbox.Count == count && outbox.All(m => m!["status"]!.GetValue<string>() == "sent"),
            outbox => $"the outbox to reach {count} sent messages: {outbox?.ToJsonString()}");

    [Fact]
    public async Task A_round_with_a_deadline_invites_reminds_closes_and_reports_on_its_own_across_a_restart()
    {
        // The servers' jobs read the time from this clock, which the test moves to the reminder and past the deadline:
        // nothing depends on how long a busy machine takes over the steps in between. (With a deadline 26 s away, a
        // slow set-up once let the reminders go out with the invitations, and a test matching "round 1" counted them
        // as second invitations.)
        var clock = new TestClock();
        // The database lives in the second server's folder (a factory deletes its own folder when disposed).
        var next = Configure(new ForesightFactory()).WithServices(s => s.AddSingleton<TimeProvider>(clock));
        _app.With("Foresight:Database", next.DatabasePath).WithServices(s => s.AddSingleton<TimeProvider>(clock));
        var study = await QuickStudy.CreateAsync(_app, experts: 4, open: false);
        // Two days: of the default reminders (3 days and 1 day before the deadline) only the second is for this round.
        var deadline = clock.GetUtcNow().AddDays(2);
        var opened = await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{S}/rounds", new { deadline }));
        Assert.NotNull(opened["deadline"]);

        // Invitations, one per expert, each in the expert's language with a personal link that signs the expert in.
        await WaitUntilAllSentAsync(study.Coordinator, 4);
        var invitations = _sink.Messages.Where(IsInvitation).ToList();
        Assert.Equal(["quick0@test.local", "quick1@test.local", "quick2@test.local", "quick3@test.local"], invitations.Select(To).Order());
        var link = LinkIn(invitations.Single(m => To(m) == "quick0@test.local"));
        Assert.Equal($"http://foresight.test/x/{study.Secrets[0]}", link);
        Assert.Contains("Quick Expert 0", Text(invitations[0]));

        // Two experts finish every topic; the others do not.
        foreach (var e in new[] { 0, 1 })
            foreach (var topic in QuickStudy.Topics) await study.AnswerAsync(e, topic, QuickStudy.Answer(5 + e));
        await study.AnswerAsync(2, "Q-T01", QuickStudy.Answer(6));

        // The server stops before the reminder and the deadline, and a new one starts on the same database.
        _app.Dispose();
        _app = next;
        var coordinator = await _app.SignInAsync("coordinator@test.local", "coordinator-password");
        // The new server's minutely job, run now rather than waited for (it is the one that runs every minute).
        void Reconcile()
        {
            var recurring = _app.Services.GetRequiredService<IRecurringJobManager>();
            recurring.Trigger(RoundLifecycle.ReconcileJob);
            recurring.Trigger(MailSchedule.ReconcileJob);
        }

        // A day before the deadline: reminders to the two who have not finished, nobody else; the round stays open.
        clock.Advance(deadline.AddDays(-1).AddSeconds(1) - clock.GetUtcNow());
        Reconcile();
        await WaitUntilAllSentAsync(coordinator, 4 + 2);
        var reminders = _sink.Messages.Where(IsReminder).ToList();
        Assert.Equal(["quick2@test.local", "quick3@test.local"], reminders.Select(To).Order());
        Assert.Equal($"http://foresight.test/x/{study.Secrets[2]}", LinkIn(reminders.Single(m => To(m) == "quick2@test.local")));
        Assert.Equal("open", (await coordinator.GetOkAsync($"{S}/rounds/1"))["status"]!.GetValue<string>());

        // Past the deadline the round closes itself, and its report follows.
        clock.Advance(TimeSpan.FromDays(1));
        Reconcile();
        var round = await Wait.ForAsync(() => coordinator.GetOkAsync($"{S}/rounds/1"), r => r["status"]!.GetValue<string>() == "closed",
            r => $"the round to close after its deadline: {r?.ToJsonString()}");
        Assert.NotNull(round["data_hash"]);
        await Wait.ForAsync(async () => (await coordinator.GetOkAsync($"{S}/reports")).AsArray(),
            reports => reports.Count(r => r!["status"]!.GetValue<string>() == "ready") >= 2, reports => $"the round's two reports: {reports?.ToJsonString()}",
            pollMs: 500);

        // Published: the experts who answered are thanked with the report's link, which opens the PDF.
        var published = await coordinator.PostOkAsync($"{S}/reports/publish", new { round = 1, language = "en" });
        await WaitUntilAllSentAsync(coordinator, 4 + 2 + 3);
        var thanks = _sink.Messages.Where(IsThanks).ToList();
        Assert.Equal(["quick0@test.local", "quick1@test.local", "quick2@test.local"], thanks.Select(To).Order());
        Assert.All(thanks, m => Assert.Equal(published["link"]!.GetValue<string>(), LinkIn(m)));
        var pdf = await _app.Anonymous().GetAsync(new Uri(LinkIn(thanks[0])).PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, pdf.StatusCode);

        // Every message went once: each of the nine sent messages reached the SMTP server exactly once.
        await using var c = new SqliteConnection($"Data Source={_app.DatabasePath}");
        var ids = (await c.QueryAsync<string>("SELECT message_id FROM outbox")).Order().ToList();
        Assert.Equal(9, ids.Count);
        Assert.Equal(ids, _sink.Messages.Select(m => m.MessageId ?? "").Order().ToList());
        Assert.DoesNotContain(study.Secrets[0], (await coordinator.GetOkAsync($"{S}/outbox")).ToJsonString());
    }

    [Fact]
    public async Task Moving_or_removing_a_deadline_reschedules_the_close()
    {
        var clock = new TestClock();
        _app.WithServices(s => s.AddSingleton<TimeProvider>(clock));
        var study = await QuickStudy.CreateAsync(_app, experts: 2, open: false);
        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{S}/rounds", new { deadline = DateTimeOffset.UtcNow.AddHours(1) }));
        await using var c = new SqliteConnection($"Data Source={_app.DatabasePath}");
        var first = await c.ExecuteScalarAsync<string>("SELECT deadline FROM rounds");
        await study.Coordinator.PutOkAsync($"{S}/rounds/1/deadline", new { deadline = DateTimeOffset.UtcNow.AddHours(2) });

        // The job made for the first deadline, when that time comes: the deadline has moved, so it does nothing.
        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var lifecycle = _app.Services.GetRequiredService<RoundLifecycle>();
        await lifecycle.CloseAtDeadlineAsync(1, 1, first!);
        Assert.Equal("open", (await study.Coordinator.GetOkAsync($"{S}/rounds/1"))["status"]!.GetValue<string>());

        // Removed, then set again: a close job is scheduled for the new deadline, and when that time comes it closes the round.
        await study.Coordinator.PutOkAsync($"{S}/rounds/1/deadline", new { deadline = (DateTimeOffset?)null });
        await study.Coordinator.PutOkAsync($"{S}/rounds/1/deadline", new { deadline = clock.GetUtcNow().AddMinutes(30) });
        var third = await c.ExecuteScalarAsync<string>("SELECT deadline FROM rounds");
        var scheduled = _app.Services.GetRequiredService<JobStorage>().GetMonitoringApi().ScheduledJobs(0, 1000)
            .Select(j => j.Value.Job).Where(j => j.Method.Name == nameof(RoundLifecycle.CloseAtDeadlineAsync)).ToList();
        Assert.Contains(scheduled, j => (string)j.Args[2] == third);
        clock.Advance(TimeSpan.FromMinutes(31));
        await lifecycle.CloseAtDeadlineAsync(1, 1, third!);
        Assert.Equal("closed", (await study.Coordinator.GetOkAsync($"{S}/rounds/1"))["status"]!.GetValue<string>());
        // Closed once, by the deadline (no user), as the audit log shows.
        var closes = (await c.QueryAsync<long?>("SELECT user_id FROM audit_log WHERE action = 'round.closed'")).ToList();
        Assert.Equal([null], closes);
    }

    [Fact]
    public async Task A_refused_message_is_retried_with_backoff_and_a_sent_one_never_goes_twice()
    {
        _sink.RefuseNext(2);
        var study = await QuickStudy.CreateAsync(_app, experts: 1, open: false);
        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{S}/rounds", new { }));
        var sent = await _sink.WaitAsync(_ => true, 1, "the invitation after two refusals");
        Assert.Single(sent);
        Assert.Equal(3, _sink.Attempts);
        var entry = Assert.Single((await study.Coordinator.GetOkAsync($"{S}/outbox")).AsArray())!;
        Assert.Equal("sent", entry["status"]!.GetValue<string>());
        Assert.Equal(3, entry["attempts"]!.GetValue<int>());
        Assert.Contains("451", entry["last_error"]!.GetValue<string>());

        // Running the sender again, and queuing the invitation again, sends nothing more.
        var sender = _app.Services.GetRequiredService<OutboxSender>();
        Assert.Equal(0, await sender.SendDueAsync());
        await using (var c = new SqliteConnection($"Data Source={_app.DatabasePath}"))
        {
            var roundId = await c.ExecuteScalarAsync<long>("SELECT id FROM rounds");
            Assert.Equal(0, await _app.Services.GetRequiredService<Outbox>().InviteAsync(roundId));
        }
        Assert.Equal(0, await sender.SendDueAsync());
        Assert.Single(_sink.Messages);
    }

    [Fact]
    public async Task Every_job_run_twice_leaves_the_same_state()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 3, open: false);
        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{S}/rounds", new { deadline = DateTimeOffset.UtcNow.AddHours(2) }));
        await _sink.WaitAsync(_ => true, 3, "invitations");
        foreach (var topic in QuickStudy.Topics) await study.AnswerAsync(0, topic, QuickStudy.Answer(6));
        await using var c = new SqliteConnection($"Data Source={_app.DatabasePath}");
        var round = await c.QuerySingleAsync<(long Id, string Deadline)>("SELECT id, deadline FROM rounds");
        var lifecycle = _app.Services.GetRequiredService<RoundLifecycle>();
        var mail = _app.Services.GetRequiredService<MailSchedule>();
        var sender = _app.Services.GetRequiredService<OutboxSender>();

        async Task<string> StateAsync() => string.Join("|",
            await c.ExecuteScalarAsync<string>("SELECT group_concat(kind || ':' || member_id || ':' || status, ',') FROM (SELECT * FROM outbox ORDER BY id)"),
            await c.ExecuteScalarAsync<string>("SELECT group_concat(status || ':' || COALESCE(data_hash, ''), ',') FROM rounds"),
            await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM consensus"),
            await c.ExecuteScalarAsync<string>("SELECT group_concat(language || ':' || status, ',') FROM (SELECT * FROM reports ORDER BY id)") ?? "",
            _sink.Messages.Count);

        // A reminder, twice: the two unfinished experts get one each.
        await mail.RemindAsync(round.Id, round.Deadline, "test");
        await sender.SendDueAsync();
        var once = await StateAsync();
        await mail.RemindAsync(round.Id, round.Deadline, "test");
        await sender.SendDueAsync();
        Assert.Equal(once, await StateAsync());
        Assert.Equal(2, _sink.Messages.Count(m => (m.Subject ?? "").StartsWith("Reminder") || (m.Subject ?? "").StartsWith("提醒")));

        // A reminder for a deadline that has since moved does nothing.
        await mail.RemindAsync(round.Id, "2000-01-01T00:00:00.000Z", "stale");
        Assert.Equal(once, await StateAsync());

        // The deadline job before the deadline does nothing; the reconcile job twice does nothing more.
        await lifecycle.CloseAtDeadlineAsync(1, 1, round.Deadline);
        await lifecycle.ReconcileAsync(false);
        await mail.ReconcileAsync(false);
        await lifecycle.ReconcileAsync(false);
        await mail.ReconcileAsync(false);
        await sender.SendDueAsync();
        Assert.Equal(once, await StateAsync());

        // Past its deadline: closing twice closes once, with one consensus per topic and one data hash.
        await c.ExecuteAsync("UPDATE rounds SET deadline = @d WHERE id = @Id", new { d = Db.Iso(DateTimeOffset.UtcNow.AddSeconds(-1)), round.Id });
        var due = await c.ExecuteScalarAsync<string>("SELECT deadline FROM rounds");
        await lifecycle.CloseAtDeadlineAsync(1, 1, due!);
        var closed = await c.QuerySingleAsync<(string Status, string Hash)>("SELECT status, data_hash FROM rounds");
        await lifecycle.CloseAtDeadlineAsync(1, 1, due!);
        await lifecycle.ReconcileAsync(false);
        Assert.Equal(closed, await c.QuerySingleAsync<(string, string)>("SELECT status, data_hash FROM rounds"));
        Assert.Equal(QuickStudy.Topics.Length, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM consensus"));

        // The report job twice: one rendered report per language.
        var reports = _app.Services.GetRequiredService<ReportService>();
        await reports.RenderAsync(1, "round", 1, "en");
        await reports.RenderAsync(1, "round", 1, "en");
        Assert.Equal(1, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM reports WHERE language = 'en' AND status = 'ready'"));
    }

    [Fact]
    public async Task The_jobs_dashboard_is_for_admins_only()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        Assert.Equal(HttpStatusCode.OK, (await (await _app.AdminAsync()).GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await (await _app.AdminAsync()).GetAsync("/hangfire/recurring")).StatusCode);

        // The dashboard lists every survey's jobs: a coordinator (of one survey) is refused, and so is an expert with
        // a valid link, signed in by it; so is a stakeholder; and anyone unknown.
        Assert.Equal(HttpStatusCode.Forbidden, (await study.Coordinator.GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await study.Experts[0].GetAsync("/hangfire")).StatusCode);
        // The session cookie is Secure: the cookie-keeping client speaks HTTPS.
        var browser = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions
            { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = new Uri("https://localhost") });
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync($"/x/{study.Secrets[0]}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync("/hangfire")).StatusCode);
        var admin = await _app.AdminAsync();
        await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email = "s@test.local", name = "S", role = "stakeholder",
            password = "stakeholder-pass" }));
        Assert.Equal(HttpStatusCode.Forbidden, (await (await _app.SignInAsync("s@test.local", "stakeholder-pass")).GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.Anonymous().GetAsync("/hangfire")).StatusCode);
    }
}
