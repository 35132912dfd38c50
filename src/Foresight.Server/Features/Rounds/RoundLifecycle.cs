using Dapper;
using Foresight.Server.Plumbing;
using Hangfire;

namespace Foresight.Server.Features.Rounds;

/// <summary>
/// A round closes at its deadline without a coordinator. The close job is derived from the rounds table (when a round
/// opens or its deadline moves, at start-up, and every minute by the reconcile job), and checks the stored state before
/// acting, so running it twice, or one made for a deadline that has since moved, changes nothing.
/// </summary>
public sealed class RoundLifecycle(Db db, RoundService rounds, IBackgroundJobClient jobs, TimeProvider clock)
    : IChangeHandler<RoundOpened>, IChangeHandler<DeadlineChanged>
{
    public const string ReconcileJob = "rounds-reconcile";


    public Task HandleAsync(RoundOpened change) => ScheduleAsync(change.RoundId);

    public Task HandleAsync(DeadlineChanged change) => ScheduleAsync(change.RoundId);

    async Task ScheduleAsync(long roundId)
    {
        await using var c = await db.OpenAsync();
        if (await RoundStore.ByIdAsync(c, roundId) is { } round) Schedule(round);
    }

    /// <summary>Schedules the close at the round's deadline (a job made for an earlier deadline turns into a no-op).</summary>
    void Schedule(RoundRow round)
    {
        if (!round.IsOpen || round.Deadline is not { } deadline) return;
        jobs.Schedule<RoundLifecycle>(l => l.CloseAtDeadlineAsync(round.SurveyId, round.Number, deadline), Db.FromIso(deadline));
    }

    /// <summary>The job at a deadline.</summary>
    [AutomaticRetry(Attempts = 5)]
    public async Task CloseAtDeadlineAsync(long surveyId, int number, string deadline)
    {
        // Hangfire keeps schedule times in whole seconds and may start the job up to a second early: wait out the rest.
        var early = Db.FromIso(deadline) - clock.GetUtcNow();
        if (early > TimeSpan.Zero && early < TimeSpan.FromMinutes(1)) await Task.Delay(early + TimeSpan.FromMilliseconds(5));
        await rounds.CloseAsync(surveyId, number, null, deadline);
    }

    /// <summary>
    /// The recurring job (and the start-up pass, with <paramref name="schedule"/>): closes rounds whose deadline has
    /// passed and schedules the close of the others.
    /// </summary>
    [AutomaticRetry(Attempts = 0)]
    public async Task ReconcileAsync(bool schedule)
    {
        List<RoundRow> open;
        await using (var c = await db.OpenAsync())
            open = (await c.QueryAsync<RoundRow>("SELECT * FROM rounds WHERE status = 'open' AND deadline IS NOT NULL")).ToList();
        var now = clock.GetUtcNow();
        foreach (var round in open)
        {
            if (Db.FromIso(round.Deadline!) <= now) await rounds.CloseAsync(round.SurveyId, round.Number, null, round.Deadline);
            else if (schedule) Schedule(round);
        }
    }
}
