using System.Net.Http.Json;
using Dapper;
using Foresight.Server.Features.Mail;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Tests;

/// <summary>
/// The outbox's promise, at its edges: the SMTP server gets each message at most once, whoever sends it and wherever
/// the sending is cut off. Every check is at an SMTP sink on 127.0.0.1, by Message-ID.
/// </summary>
public sealed class OutboxTests : IAsyncLifetime
{
    readonly SmtpSink _sink = new();
    readonly List<ForesightFactory> _apps = [];
    const string S = QuickStudy.S;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var app in _apps) app.Dispose();
        await _sink.DisposeAsync();
    }

    ForesightFactory NewApp(bool mail = true)
    {
        var app = new ForesightFactory();
        if (mail) Mail(app);
        _apps.Add(app);
        return app;
    }

    ForesightFactory Mail(ForesightFactory app) => app
        .With("Foresight:Mail:Host", "127.0.0.1")
        .With("Foresight:Mail:Port", _sink.Port.ToString())
        .With("Foresight:Mail:Security", "None")
        .With("Foresight:Mail:FirstRetry", "00:00:01");

    static SqliteConnection Open(ForesightFactory app) => new($"Data Source={app.DatabasePath}");

    static async Task<List<(string Status, string? LastError)>> OutboxAsync(ForesightFactory app)
    {
        await using var c = Open(app);
        return (await c.QueryAsync<(string, string?)>("SELECT status, last_error FROM outbox ORDER BY id")).ToList();
    }

    /// <summary>Waits until no message is queued or being sent.</summary>
    static Task<List<(string Status, string? LastError)>> SettledAsync(ForesightFactory app) =>
        Wait.ForAsync(() => OutboxAsync(app), rows => rows.Count > 0 && rows.All(r => r.Status is not ("queued" or "sending")),
            rows => $"the outbox to settle: {string.Join(", ", rows?.Select(r => r.Status) ?? [])}");

    [Fact]
    public async Task Two_servers_sending_the_same_outbox_at_once_send_each_message_once()
    {
        // Forty invitations wait in the outbox of a server without an SMTP host; a second server opens the same database.
        var first = NewApp(mail: false);
        var study = await QuickStudy.CreateAsync(first, experts: 40);
        await Wait.UntilAsync(async () => (await OutboxAsync(first)).Count(r => r.Status == "queued") >= 40, "the 40 invitations to be queued");
        var second = NewApp(mail: false).With("Foresight:Database", first.DatabasePath);

        // Three senders on each server (each server with its own database gate, as two processes), all at once, with
        // the sink as SMTP server. A claim that read and then marked in two steps let six senders take the same
        // messages (52-63 sent instead of 40, three runs of three); two senders seldom met in that gap.
        var mail = Options.Create(new MailOptions { Host = "127.0.0.1", Port = _sink.Port, Security = "None" });
        var senders = new[] { first, second, first, second, first, second }.Select(app => ActivatorUtilities.CreateInstance<OutboxSender>(app.Services, mail))
            .ToList();
        var sent = await Task.WhenAll(senders.Select(s => Task.Run(() => s.SendDueAsync())));

        Assert.Equal(40, sent.Sum());
        Assert.Equal(40, _sink.Messages.Count);
        Assert.Equal(40, _sink.Messages.Select(m => m.MessageId).Distinct().Count());
        Assert.All(await OutboxAsync(first), r => Assert.Equal("sent", r.Status));
        Assert.Equal(40, study.Members.Count);
    }

    [Fact]
    public async Task A_message_the_mail_server_may_have_taken_when_the_connection_failed_is_not_sent_again()
    {
        // The sink keeps the invitation and closes the connection instead of answering "250": the sender cannot know
        // whether the message was taken, and sending it again could deliver it twice.
        _sink.DropAfterAccepting(1);
        var app = NewApp();
        var study = await QuickStudy.CreateAsync(app, experts: 1);

        var (status, error) = Assert.Single(await SettledAsync(app));
        Assert.Equal("interrupted", status);
        Assert.Contains("may have been delivered", error);
        Assert.Single(_sink.Messages);

        // Running the sender again sends nothing; the survey's outbox shows the state to the coordinator.
        Assert.Equal(0, await app.Services.GetRequiredService<OutboxSender>().SendDueAsync());
        Assert.Single(_sink.Messages);
        var entry = Assert.Single((await study.Coordinator.GetOkAsync($"{S}/outbox")).AsArray())!;
        Assert.Equal("interrupted", entry["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_message_left_sending_by_a_server_that_was_killed_is_not_sent_again()
    {
        var app = NewApp();
        await QuickStudy.CreateAsync(app, experts: 2);
        Assert.All(await SettledAsync(app), r => Assert.Equal("sent", r.Status));
        Assert.Equal(2, _sink.Messages.Count);

        // What a kill leaves when it comes after the SMTP server took a message and before 'sent' was written: the
        // message 'sending', claimed by a server that is gone (the first, eleven minutes ago) or may still be sending
        // it (the second, a minute ago).
        await using (var c = Open(app))
        {
            var ids = (await c.QueryAsync<long>("SELECT id FROM outbox ORDER BY id")).ToList();
            foreach (var (id, ago) in new[] { (ids[0], 11), (ids[1], 1) })
                await c.ExecuteAsync("UPDATE outbox SET status = 'sending', sent_at = NULL, next_attempt_at = @at WHERE id = @id",
                    new { id, at = Db.Iso(DateTimeOffset.UtcNow.AddMinutes(-ago)) });
        }

        await app.Services.GetRequiredService<OutboxSender>().SendDueAsync();
        var rows = await OutboxAsync(app);
        Assert.Equal("interrupted", rows[0].Status);
        Assert.Equal(OutboxSender.InterruptedByStop, rows[0].LastError);
        Assert.Equal("sending", rows[1].Status);
        Assert.Equal(2, _sink.Messages.Count);
    }

    [Fact]
    public async Task Revoked_members_get_no_invitation_reminder_or_thanks_and_their_queued_messages_are_cancelled()
    {
        // No SMTP host: messages wait in the outbox until the test runs a sender.
        var logs = new LogCapture();
        var app = NewApp(mail: false).WithServices(s => s.AddSingleton<ILoggerProvider>(logs));
        var study = await QuickStudy.CreateAsync(app, experts: 3, open: false);
        async Task<List<(long MemberId, string Kind, string Status, string? LastError)>> Rows()
        {
            await using var c = Open(app);
            return (await c.QueryAsync<(long, string, string, string?)>("SELECT member_id, kind, status, last_error FROM outbox ORDER BY id")).ToList();
        }
        var mail = Options.Create(new MailOptions { Host = "127.0.0.1", Port = _sink.Port, Security = "None" });
        var sender = ActivatorUtilities.CreateInstance<OutboxSender>(app.Services, mail);

        // Revoked before the round opens: no invitation.
        Assert.Equal(204, (int)(await study.Coordinator.DeleteAsync($"{S}/panel/{study.Members[2]}/link")).StatusCode);
        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{S}/rounds", new { deadline = DateTimeOffset.UtcNow.AddDays(2) }));
        await Wait.UntilAsync(async () => (await Rows()).Count >= 2, "the invitations to be queued");
        Assert.Equal([study.Members[0], study.Members[1]], (await Rows()).Select(r => r.MemberId));

        // Revoked while the invitation waits (after answering a topic): it is cancelled at once, and never sent.
        await study.AnswerAsync(1, "Q-T01", QuickStudy.Answer(6));
        Assert.Equal(204, (int)(await study.Coordinator.DeleteAsync($"{S}/panel/{study.Members[1]}/link")).StatusCode);
        Assert.Equal(("cancelled", Outbox.RevokedNote), (await Rows()).Where(r => r.MemberId == study.Members[1]).Select(r => (r.Status, r.LastError))
            .Single());
        Assert.Equal(1, await sender.SendDueAsync());
        Assert.Equal(["quick0@test.local"], _sink.Messages.Select(m => m.To.Mailboxes.Single().Address));

        // A reminder queued for the last member, whose link is then revoked by another way than the panel page (as
        // when the revocation comes while the sender is taking the message): the sender cancels it instead of failing.
        var roundId = await Open(app).ExecuteScalarAsync<long>("SELECT id FROM rounds");
        Assert.Equal(1, await app.Services.GetRequiredService<Outbox>().RemindAsync(roundId, "test"));
        await using (var c = Open(app))
            await c.ExecuteAsync("UPDATE panel_members SET revoked_at = @now WHERE id = @id",
                new { now = Db.Iso(DateTimeOffset.UtcNow), id = study.Members[0] });
        Assert.Equal(0, await sender.SendDueAsync());
        Assert.Equal(("cancelled", Outbox.RevokedNote), (await Rows()).Where(r => r.Kind == "reminder").Select(r => (r.Status, r.LastError)).Single());
        Assert.Single(_sink.Messages);

        // Thanks go to members who answered, not to one revoked since (expert 1 answered a topic).
        Assert.Equal(0, await app.Services.GetRequiredService<Outbox>().ThankAsync(1, 1, "http://foresight.test/r/report"));

        // Nothing was left to retry, and the log names no failure.
        Assert.DoesNotContain(await Rows(), r => r.Status is "queued" or "sending" or "failed");
        Assert.DoesNotContain(logs.Entries, e => e.Category.Contains("Outbox") && (e.Exception is not null || e.Level >= LogLevel.Warning));
    }

    static string LinkIn(MimeKit.MimeMessage m) => (m.TextBody ?? "").Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("http"));

    [Fact]
    public async Task Without_a_public_url_e_mail_links_carry_the_address_the_coordinator_s_request_came_to()
    {
        var app = NewApp().With("Foresight:PublicUrl", null);
        var server = app.StartKestrel();
        var study = await QuickStudy.CreateAsync(app, experts: 2, open: false);
        var direct = app.Anonymous();
        direct.DefaultRequestHeaders.Authorization = study.Coordinator.DefaultRequestHeaders.Authorization;
        // The coordinator opens the round through a reverse proxy on this machine, which forwards the public scheme and host.
        study.Coordinator.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        study.Coordinator.DefaultRequestHeaders.Add("X-Forwarded-Host", "foresight.example.org");
        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{S}/rounds", new { deadline = DateTimeOffset.UtcNow.AddDays(2) }));

        var invitations = await _sink.WaitAsync(_ => true, 2, "invitations");
        Assert.Equal(study.Secrets.Select(s => $"https://foresight.example.org/x/{s}").Order(), invitations.Select(LinkIn).Order());

        // A reminder is queued by a job, which has no request: its link has the address of the request that opened the round.
        await using (var c = Open(app))
            Assert.Equal(2, await app.Services.GetRequiredService<Outbox>().RemindAsync(await c.ExecuteScalarAsync<long>("SELECT id FROM rounds"), "test"));
        var reminders = await _sink.WaitAsync(m => (m.Subject ?? "").StartsWith("Reminder") || (m.Subject ?? "").StartsWith("提醒"), 2, "reminders");
        Assert.All(reminders, m => Assert.StartsWith("https://foresight.example.org/x/", LinkIn(m)));

        // An expert added to the open round by a request straight to the server: the invitation has that request's
        // address, like the link in the answer.
        var expert = await Api.OkAsync(await direct.PostAsJsonAsync("/api/experts", new
        {
            name = "Late Expert", email = "late@test.local", organisation = "Institute", org_type = "UNI", region = "CN_EAST", expertise = new[] { "Q", "A" },
        }));
        var added = (await Api.OkAsync(await direct.PostAsJsonAsync($"{S}/panel",
            new { members = new[] { new { expert_id = expert["id"]!.GetValue<long>() } } }))).AsArray();
        var link = added.Single()!["link"]!.GetValue<string>();
        Assert.StartsWith(server.ToString(), link);
        var late = await _sink.WaitAsync(m => m.To.Mailboxes.Single().Address == "late@test.local", 1, "the late invitation");
        Assert.Equal(link, LinkIn(late.Single()));

        // A message queued without an address (by a version that did not keep it) is not sent with a made-up one.
        await using (var c = Open(app))
        {
            var roundId = await c.ExecuteScalarAsync<long>("SELECT id FROM rounds");
            Assert.Equal(3, await app.Services.GetRequiredService<Outbox>().RemindAsync(roundId, "old"));
            await c.ExecuteAsync("UPDATE outbox SET link_base = NULL WHERE dedupe_key LIKE 'reminder:%:old:%'");
        }
        await app.Services.GetRequiredService<OutboxSender>().SendDueAsync();
        Assert.All((await OutboxAsync(app)).Skip(5), r => Assert.Contains("set Foresight:PublicUrl", r.LastError));
        Assert.Equal(5, _sink.Messages.Count);
    }
}
