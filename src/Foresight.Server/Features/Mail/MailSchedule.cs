using System.Globalization;
using Dapper;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Mail;

/// <summary>
/// The e-mail around a round without a coordinator: invitations when it opens, reminders before its deadline. The jobs
/// are derived from the rounds table (when a round opens or its deadline moves, at start-up, and every minute by the
/// reconcile job), and each checks the stored state before acting, so running one twice, or one made for a deadline
/// that has since moved, changes nothing.
/// </summary>
public sealed class MailSchedule(Db db, Outbox outbox, IBackgroundJobClient jobs, IOptions<MailOptions> mail, TimeProvider clock, ILogger<MailSchedule> log)
    : IChangeHandler<RoundOpened>, IChangeHandler<DeadlineChanged>
{
    public const string ReconcileJob = "mail-reconcile";


    /// <summary>
    /// A round has opened: its panel is invited (a job, so that nothing waits on it) and the reminders before its
    /// deadline are scheduled. Should the job be lost, the reconcile job queues the invitations again.
    /// </summary>
    public async Task HandleAsync(RoundOpened change)
    {
        jobs.Enqueue<Outbox>(o => o.InviteAsync(change.RoundId, null, null));
        await ScheduleAsync(change.RoundId);
    }

    public Task HandleAsync(DeadlineChanged change) => ScheduleAsync(change.RoundId);

    async Task ScheduleAsync(long roundId)
    {
        await using var c = await db.OpenAsync();
        if (await RoundStore.ByIdAsync(c, roundId) is { } round) Schedule(round);
    }

    /// <summary>Schedules the reminders before the round's deadline (jobs for an earlier deadline turn into no-ops).</summary>
    void Schedule(RoundRow round)
    {
        if (!round.IsOpen || round.Deadline is not { } deadline) return;
        var at = Db.FromIso(deadline);
        foreach (var before in mail.Value.ReminderTimes)
            if (at - before > clock.GetUtcNow() && at - before > Db.FromIso(round.OpenedAt))
                jobs.Schedule<MailSchedule>(m => m.RemindAsync(round.Id, deadline, ReminderKey(deadline, before)), at - before);
    }

    static string ReminderKey(string deadline, TimeSpan before) => $"{deadline}-{before.ToString("c", CultureInfo.InvariantCulture)}";

    /// <summary>The job before a deadline: reminds those who have not finished, if the round is open with that deadline.</summary>
    [AutomaticRetry(Attempts = 5)]
    public async Task RemindAsync(long roundId, string deadline, string key)
    {
        await using (var c = await db.OpenAsync())
        {
            var current = await c.QuerySingleOrDefaultAsync<string?>("SELECT deadline FROM rounds WHERE id = @roundId AND status = 'open'", new { roundId });
            if (current != deadline) return;
            if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM round_reminders WHERE round_id = @roundId AND key = @key", new { roundId, key }) > 0)
                return;
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
    /// The recurring job (and the start-up pass, with <paramref name="schedule"/>): invitations not queued yet, reminders
    /// that are due, the schedule of the rest, and the sending of what the outbox holds.
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
            var deadline = Db.FromIso(round.Deadline);
            if (deadline <= now) continue; // the round closes now (RoundLifecycle); no reminder after the deadline
            // A reminder is due once its time has passed, if the round was already open then (no "3 days left" for a two-day round).
            foreach (var before in mail.Value.ReminderTimes)
                if (deadline - before <= now && deadline - before > Db.FromIso(round.OpenedAt))
                    await RemindAsync(round.Id, round.Deadline, ReminderKey(round.Deadline, before));
            if (schedule) Schedule(round);
        }
        jobs.Enqueue<OutboxSender>(s => s.SendDueAsync(CancellationToken.None));
    }
}
