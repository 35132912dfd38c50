using System.Collections.Concurrent;
using Dapper;
using Foresight.Core.Answers;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>A survey's open round and its topics (a round's topics never change while it is open).</summary>
public sealed record OpenRound(RoundRow Round, IReadOnlyDictionary<string, RoundTopicRow> Topics)
{
    public DateTimeOffset? Deadline { get; } = AnswerWindow.ParseDeadline(Round.Deadline);
}

/// <summary>Whether a panel member is on a round's panel, and whether their link is revoked.</summary>
public readonly record struct RoundMembership(bool OnRound, bool Revoked);

/// <summary>
/// What every answer request would otherwise read again: the open round and its topics, an expert's fields and
/// place on the round's panel, and the previous round's quartiles of a topic, forgotten when the change events that
/// alter them are published. A stale entry cannot let a late answer in: the answer writer checks the round's status
/// and deadline and the expert's place on its panel again in its own transaction.
/// </summary>
public sealed class QuestionnaireCache(Db db)
    : IChangeHandler<RoundOpened>, IChangeHandler<RoundClosed>, IChangeHandler<DeadlineChanged>, IChangeHandler<PanelChanged>,
      IChangeHandler<MemberAccessEnded>, IFollowsEveryNode
{
    public Task HandleAsync(RoundOpened change) => ForgetSurvey(change.SurveyId);

    public Task HandleAsync(RoundClosed change) => ForgetSurvey(change.SurveyId);

    public Task HandleAsync(DeadlineChanged change) => ForgetSurvey(change.SurveyId);

    public Task HandleAsync(PanelChanged change) => ForgetMembers(change.Members);

    // A renewed or revoked link changes the member's standing.
    public Task HandleAsync(MemberAccessEnded change) => ForgetMembers([change.MemberId]);

    readonly ConcurrentDictionary<long, Lazy<Task<OpenRound?>>> _rounds = new();
    readonly ConcurrentDictionary<long, Lazy<Task<HashSet<long>>>> _fields = new();
    readonly ConcurrentDictionary<(long Round, long Member), Lazy<Task<RoundMembership>>> _members = new();
    readonly ConcurrentDictionary<(long Round, string Topic), Lazy<Task<Func<string, PreviousQuartiles?>>>> _quartiles = new();

    public Task<OpenRound?> OpenRoundAsync(long surveyId) => Get(_rounds, surveyId, async () =>
    {
        await using var c = await db.OpenAsync();
        var round = await RoundStore.OpenRoundAsync(c, surveyId);
        if (round is null) return null;
        return new OpenRound(round, (await RoundStore.TopicsAsync(c, round.Id)).ToDictionary(t => t.Code, StringComparer.Ordinal));
    });

    public Task<HashSet<long>> MemberFieldsAsync(long memberId) => Get(_fields, memberId, async () =>
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<long>("SELECT field_id FROM panel_fields WHERE member_id = @memberId", new { memberId })).ToHashSet();
    });

    /// <summary>Whether the member is on the round's panel (round_members) and whether their link is revoked.</summary>
    public Task<RoundMembership> MembershipAsync(long roundId, long memberId) => Get(_members, (roundId, memberId), async () =>
    {
        await using var c = await db.OpenAsync();
        return await MembershipAsync(c, roundId, memberId);
    });

    public static async Task<RoundMembership> MembershipAsync(Microsoft.Data.Sqlite.SqliteConnection c, long roundId, long memberId)
    {
        var rows = (await c.QueryAsync<(long Revoked, long OnRound)>(MembershipSql, new { round = roundId, member = memberId })).ToList();
        // A member that is gone is on no panel.
        return rows is [var r] ? new RoundMembership(r.OnRound != 0, r.Revoked != 0) : new RoundMembership(false, false);
    }

    /// <summary>The read of a member's standing on a round, here and in the answer writer's transaction.</summary>
    public const string MembershipSql =
        "SELECT revoked_at IS NOT NULL, EXISTS (SELECT 1 FROM round_members WHERE round_id = @round AND member_id = @member) FROM panel_members WHERE id = " +
        "@member";

    public Task<Func<string, PreviousQuartiles?>> QuartilesAsync(long surveyId, RoundRow round, string topic) => Get(_quartiles, (round.Id, topic), async () =>
    {
        if (round.Number == 1) return _ => null;
        await using var c = await db.OpenAsync();
        var previous = await RoundStore.RoundAsync(c, surveyId, round.Number - 1);
        var row = await SurveyStore.TopicAsync(c, surveyId, topic);
        return row is null ? (_ => null) : await Feedback.PreviousQuartilesAsync(c, surveyId, previous, row);
    });

    /// <summary>A round opened or closed, or its deadline moved.</summary>
    Task ForgetSurvey(long surveyId)
    {
        _rounds.TryRemove(surveyId, out _);
        return Task.CompletedTask;
    }

    /// <summary>Experts' fields, links or places on a panel changed: one pass over the kept memberships for all of them.</summary>
    Task ForgetMembers(IReadOnlyCollection<long> members)
    {
        foreach (var member in members) _fields.TryRemove(member, out _);
        var gone = members.ToHashSet();
        foreach (var key in _members.Keys)
            if (gone.Contains(key.Member)) _members.TryRemove(key, out _);
        return Task.CompletedTask;
    }

    static async Task<TValue> Get<TKey, TValue>(ConcurrentDictionary<TKey, Lazy<Task<TValue>>> cache, TKey key, Func<Task<TValue>> load) where TKey : notnull
    {
        var lazy = cache.GetOrAdd(key, _ => new Lazy<Task<TValue>>(load));
        try { return await lazy.Value; }
        catch
        {
            cache.TryRemove(new KeyValuePair<TKey, Lazy<Task<TValue>>>(key, lazy));
            throw;
        }
    }
}

public static class QuestionnaireServices
{
    public static IServiceCollection AddQuestionnaire(this IServiceCollection services) => services
        .AddSingleton<QuestionnaireCache>()
        .AddChangeHandler<RoundOpened, QuestionnaireCache>().AddChangeHandler<RoundClosed, QuestionnaireCache>()
        .AddChangeHandler<DeadlineChanged, QuestionnaireCache>().AddChangeHandler<PanelChanged, QuestionnaireCache>()
        .AddChangeHandler<MemberAccessEnded, QuestionnaireCache>()
        .AddSingleton<QuestionnaireService>().AddSingleton<IAnswerWindows>(sp => sp.GetRequiredService<QuestionnaireService>())
        .AddSingleton<AnswerWriter>().AddHostedService(sp => sp.GetRequiredService<AnswerWriter>());
}
