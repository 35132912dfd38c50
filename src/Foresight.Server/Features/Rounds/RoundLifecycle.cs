using System.Globalization;
using Dapper;
using Foresight.Server.Features.Consensus;
using Foresight.Server.Features.Live;
using Foresight.Server.Features.Mail;
using Foresight.Server.Features.Questionnaire;
using Foresight.Server.Features.Reports;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Rounds;

/// <summary>
/// What happens around a round without a coordinator: invitations when it opens, reminders before its deadline, closing
/// at the deadline and the report after. The jobs are derived from the rounds table (at start-up, whenever a deadline
/// is set, and every minute by the reconcile job), and each checks the stored state before acting, so running one twice,
/// or one made for a deadline that has since moved, changes nothing.
/// </summary>
public sealed class RoundLifecycle(
    Db db, SurveyCatalog catalog, ConsensusService consensus, LivePublisher live, QuestionnaireCache cache, ReportService reports, Outbox outbox,
    IBackgroundJobClient jobs, IOptions<MailOptions> mail, TimeProvider clock, ILogger<RoundLifecycle> log)
{
    public const string ReconcileJob = "rounds-reconcile";

    public enum Outcome { Closed, NotFound, AlreadyClosed, NotDue }

    static DateTimeOffset Parse(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);

    /// <summary>
    /// Closes a round: consensus stored with its data hash, the next round's topics proposed, watchers told, reports queued.
    /// With <paramref name="dueDeadline"/> it closes only if that is still the round's deadline and it has passed.
    /// </summary>
    /// <param name="queueReports">false when the caller queues them itself (<see cref="QueueReportsAsync"/>) once it has
    /// answered; until then a restart would still queue them, from the closed round that has none</param>
    public async Task<(Outcome Outcome, RoundRow? Round)> CloseAsync(long surveyId, int number, long? userId, string? dueDeadline = null, bool queueReports = true)
    {
        await using (var w = await db.BeginWriteAsync())
        {
            var (c, tx) = w;
            var round = await RoundStore.RoundAsync(c, surveyId, number, tx);
            if (round is null) return (Outcome.NotFound, null);
            if (!round.IsOpen) return (Outcome.AlreadyClosed, round);
            if (dueDeadline is not null && (round.Deadline != dueDeadline || Parse(dueDeadline) > clock.GetUtcNow())) return (Outcome.NotDue, round);
            await RoundsEndpoints.CloseAsync(c, tx, catalog, consensus, round, userId);
            await tx.CommitAsync();
        }
        cache.ForgetSurvey(surveyId);
        await live.RoundClosedAsync(surveyId);
        if (queueReports) await QueueReportsAsync(surveyId, number);
        if (dueDeadline is not null) log.LogInformation("Round {Number} of survey {Survey} closed at its deadline {Deadline}", number, surveyId, dueDeadline);
        await using var read = await db.OpenAsync();
        return (Outcome.Closed, await RoundStore.RoundAsync(read, surveyId, number));
    }

    /// <summary>The reports of a closed round, in each of the survey's languages.</summary>
    public async Task QueueReportsAsync(long surveyId, int number) => reports.EnqueueRound(surveyId, number, await catalog.DefinitionAsync(surveyId));

    /// <summary>
    /// A round has opened: its panel is invited (a job, so that the caller's write transaction is not waited on) and its
    /// deadline, if any, scheduled. Should the job be lost, the reconcile job queues the invitations again.
    /// </summary>
    public void Opened(RoundRow round)
    {
        jobs.Enqueue<Outbox>(o => o.InviteAsync(round.Id, null));
        Schedule(round);
    }

    /// <summary>Schedules the close at the round's deadline and the reminders before it (jobs for an earlier deadline turn into no-ops).</summary>
    public void Schedule(RoundRow round)
    {
        if (!round.IsOpen || round.Deadline is not { } deadline) return;
        var at = Parse(deadline);
        jobs.Schedule<RoundLifecycle>(l => l.CloseAtDeadlineAsync(round.SurveyId, round.Number, deadline), at);
        foreach (var before in mail.Value.ReminderTimes)
            if (at - before > clock.GetUtcNow() && at - before > Parse(round.OpenedAt))
                jobs.Schedule<RoundLifecycle>(l => l.RemindAsync(round.Id, deadline, ReminderKey(deadline, before)), at - before);
    }

    static string ReminderKey(string deadline, TimeSpan before) => $"{deadline}-{before.ToString("c", CultureInfo.InvariantCulture)}";

    /// <summary>The job at a deadline.</summary>
    [AutomaticRetry(Attempts = 5)]
    public async Task CloseAtDeadlineAsync(long surveyId, int number, string deadline)
    {
        // Hangfire keeps schedule times in whole seconds and may start the job up to a second early: wait out the rest.
        var early = Parse(deadline) - clock.GetUtcNow();
        if (early > TimeSpan.Zero && early < TimeSpan.FromMinutes(1)) await Task.Delay(early + TimeSpan.FromMilliseconds(5));
        await CloseAsync(surveyId, number, null, deadline);
    }

    /// <summary>The job before a deadline: reminds those who have not finished, if the round is open with that deadline.</summary>
    [AutomaticRetry(Attempts = 5)]
    public async Task RemindAsync(long roundId, string deadline, string key)
    {
        await using (var c = await db.OpenAsync())
        {
            var current = await c.QuerySingleOrDefaultAsync<string?>("SELECT deadline FROM rounds WHERE id = @roundId AND status = 'open'", new { roundId });
            if (current != deadline) return;
            if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM round_reminders WHERE round_id = @roundId AND key = @key", new { roundId, key }) > 0) return;
        }
        var queued = await outbox.RemindAsync(roundId, key);
        await using (var w = await db.BeginWriteAsync())
        {
            await w.Connection.ExecuteAsync("INSERT INTO round_reminders (round_id, key, done_at) VALUES (@roundId, @key, @now) ON CONFLICT DO NOTHING",
                new { roundId, key, now = Db.Iso(clock.GetUtcNow()) }, w.Transaction);
            await w.CommitAsync();
        }
        log.LogInformation("Reminder {Key} for round {Round}: {Count} e-mails queued", key, roundId, queued);
    }

    /// <summary>
    /// The recurring job (and the start-up pass, with <paramref name="schedule"/>): closes rounds whose deadline has
    /// passed, sends reminders that are due, schedules the rest, and sends what the outbox holds.
    /// </summary>
    [AutomaticRetry(Attempts = 0)]
    public async Task ReconcileAsync(bool schedule)
    {
        List<RoundRow> open;
        await using (var c = await db.OpenAsync())
            open = (await c.QueryAsync<RoundRow>("SELECT * FROM rounds WHERE status = 'open'")).ToList();
        var now = clock.GetUtcNow();
        foreach (var round in open)
        {
            await outbox.InviteAsync(round.Id); // queued once per member: a no-op for those invited already
            if (round.Deadline is null) continue;
            var deadline = Parse(round.Deadline);
            if (deadline <= now) { await CloseAsync(round.SurveyId, round.Number, null, round.Deadline); continue; }
            // A reminder is due once its time has passed, if the round was already open then (no "3 days left" for a two-day round).
            foreach (var before in mail.Value.ReminderTimes)
                if (deadline - before <= now && deadline - before > Parse(round.OpenedAt))
                    await RemindAsync(round.Id, round.Deadline!, ReminderKey(round.Deadline!, before));
            if (schedule) Schedule(round);
        }
        jobs.Enqueue<OutboxSender>(s => s.SendDueAsync(CancellationToken.None));
    }
}
