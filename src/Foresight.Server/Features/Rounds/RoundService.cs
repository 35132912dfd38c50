using Foresight.Core;
using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Rounds;

/// <summary>
/// Rounds: open (with the survey's active topics and current rules), close (consensus snapshot, data hash, carried
/// and retired topics by the stop rule), deadlines, overriding a topic's fate, and reading consensus and participation.
/// Every change is published after its commit (round opened, closed, deadline changed, topics changed).
/// </summary>
public sealed class RoundService(Db db, SurveyCatalog catalog, ConsensusService consensus, ChangeEvents changes, TimeProvider clock, ILogger<RoundService> log,
    RoundService.CloseHooks? hooks = null)
{
    public enum CloseResult { Closed, NotFound, AlreadyClosed, NotDue }

    public static Refusal NoRound(SurveyRef survey, int number) => Refusal.NotFound($"Survey '{survey.Slug}' has no round {number}.");

    public async Task<List<RoundView>> ListAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        var result = new List<RoundView>();
        foreach (var r in await RoundStore.AllAsync(c, survey.Id)) result.Add(await ViewAsync(c, r));
        return result;
    }

    public async Task<Outcome<RoundView>> GetAsync(SurveyRef survey, int number)
    {
        await using var c = await db.OpenAsync();
        var round = await RoundStore.RoundAsync(c, survey.Id, number);
        return round is null ? NoRound(survey, number) : await ViewAsync(c, round);
    }

    /// <summary>Opens the next round: round 1 with every active topic, later rounds with the topics carried from the last one.</summary>
    /// <param name="linkBase">the address of the request, for the links of the invitations when Foresight:PublicUrl is not set</param>
    public async Task<Outcome<RoundView>> OpenAsync(SurveyRef survey, OpenRoundRequest body, ClaimsPrincipal user, string linkBase)
    {
        if (body.Deadline is { } due && due <= clock.GetUtcNow()) return Refusal.BadRequest($"deadline {due:O} is in the past");
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var latest = await RoundStore.LatestAsync(c, survey.Id, tx);
        if (latest is { IsOpen: true })
            return Refusal.Conflict($"Round {latest.Number} is still open. Close it first: POST /api/surveys/{survey.Slug}/rounds/{latest.Number}/close.");
        if (latest is { IsClosing: true })
            return Refusal.Conflict($"Round {latest.Number} is closing: its consensus is being stored. Open the next round in a moment.");
        var rulesVersion = await SurveyCatalog.CurrentRulesVersionAsync(c, survey.Id, tx);
        var rules = await catalog.RulesAsync(survey.Id, rulesVersion);
        int number = (latest?.Number ?? 0) + 1;
        if (number > rules.MaxRounds)
            return Refusal.Conflict($"The rules allow at most {rules.MaxRounds} rounds, and round {latest!.Number} was the last. Select the key " +
                "technologies, or declare rules with a higher max_rounds.");
        var topics = await c.QueryAsync<long>("""
            SELECT t.id FROM topics t JOIN fields f ON f.id = t.field_id
            WHERE t.survey_id = @Id AND t.status = 'active' ORDER BY f.position, t.position
            """, new { survey.Id }, tx);
        var topicIds = topics.ToList();
        if (topicIds.Count == 0)
            return Refusal.Conflict(number == 1
                ? "The survey has no active topics to ask."
                : $"No topic was carried from round {latest!.Number}: every topic met the stop rule or was retired. Carry a topic with PUT " +
                $".../rounds/{latest.Number}/topics/{{code}}/decision, or add one.");

        var now = Db.Iso(clock.GetUtcNow());
        var roundId = await c.ExecuteScalarAsync<long>("""
            INSERT INTO rounds (survey_id, number, status, rules_version, opened_at, opened_by, deadline, link_base)
            VALUES (@Id, @number, 'open', @rulesVersion, @now, @userId, @deadline, @linkBase) RETURNING id
            """, new { survey.Id, number, rulesVersion, now, userId = user.UserId(), deadline = body.Deadline is { } d ? Db.Iso(d) : null,
                linkBase }, tx);
        for (int i = 0; i < topicIds.Count; i++)
            await c.ExecuteAsync("INSERT INTO round_topics (round_id, topic_id, position) VALUES (@roundId, @t, @i)", new { roundId, t = topicIds[i], i }, tx);
        await c.ExecuteAsync("""
            INSERT INTO round_members (round_id, member_id)
            SELECT @roundId, id FROM panel_members WHERE survey_id = @Id AND revoked_at IS NULL
            """, new { roundId, survey.Id }, tx);
        await c.ExecuteAsync("UPDATE surveys SET status = 'running' WHERE id = @Id AND status = 'draft'", new { survey.Id }, tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "round.opened",
            new { number, topics = topicIds.Count, rules_version = rulesVersion, deadline = body.Deadline });
        await tx.CommitAsync();
        await changes.PublishAsync(new RoundOpened(survey.Id, roundId, number));
        return await ViewAsync(c, (await RoundStore.RoundAsync(c, survey.Id, number))!);
    }

    /// <summary>A coordinator closes the round; returns its consensus.</summary>
    public async Task<Outcome<ConsensusView>> CloseAsync(SurveyRef survey, int number, ClaimsPrincipal user)
    {
        var (result, closed) = await CloseAsync(survey.Id, number, user.UserId());
        if (result == CloseResult.NotFound) return NoRound(survey, number);
        if (result == CloseResult.AlreadyClosed) return Refusal.Conflict($"Round {number} closed at {closed!.ClosedAt}.");
        await using var c = await db.OpenAsync();
        return await ConsensusViewAsync(c, closed!);
    }

    /// <summary>
    /// Closes a round: consensus stored with its data hash, the next round's topics proposed; then the change is
    /// published (watchers told, reports queued). With <paramref name="dueDeadline"/> it closes only if that is still the
    /// round's deadline and it has passed (the deadline job, which may run late or twice).
    /// </summary>
    /// <remarks>
    /// In two short write transactions, so that no expert's answer waits behind the seconds a national round's consensus
    /// takes (issue 23): the first closes the round to answers; its answers can no longer change, so they are read and
    /// the consensus computed outside the write gate; the second stores the result. A server stopped between the two
    /// finishes the close at start (<see cref="FinishInterruptedClosesAsync"/>).
    /// </remarks>
    public async Task<(CloseResult Result, RoundRow? Round)> CloseAsync(long surveyId, int number, long? userId, string? dueDeadline = null)
    {
        RoundRow round;
        await using (var w = await db.BeginWriteAsync())
        {
            var (c, tx) = w;
            var found = await RoundStore.RoundAsync(c, surveyId, number, tx);
            if (found is null) return (CloseResult.NotFound, null);
            if (!found.IsOpen) return (CloseResult.AlreadyClosed, found);
            if (dueDeadline is not null && (found.Deadline != dueDeadline || Db.FromIso(dueDeadline) > clock.GetUtcNow())) return (CloseResult.NotDue, found);
            await c.ExecuteAsync("UPDATE rounds SET status = 'closed', closed_at = @now, closed_by = @userId WHERE id = @Id",
                new { now = Db.Iso(clock.GetUtcNow()), userId, found.Id }, tx);
            await tx.CommitAsync();
            round = found;
        }
        if (hooks?.BetweenCloseSteps is { } hook) await hook(round.Id);
        await FinishCloseAsync(round.Id, userId);
        if (dueDeadline is not null) log.LogInformation("Round {Number} of survey {Survey} closed at its deadline {Deadline}", number, surveyId, dueDeadline);
        await using var read = await db.OpenAsync();
        return (CloseResult.Closed, await RoundStore.RoundAsync(read, surveyId, number));
    }

    /// <summary>Finishes the closes a stopped server left between their two steps (rounds closed to answers without a stored consensus).</summary>
    public async Task FinishInterruptedClosesAsync()
    {
        List<(long Id, long? ClosedBy)> closing;
        await using (var c = await db.OpenAsync())
            closing = (await c.QueryAsync<(long, long?)>("SELECT id, closed_by FROM rounds WHERE status = 'closed' AND data_hash IS NULL")).ToList();
        foreach (var (id, closedBy) in closing)
        {
            log.LogWarning("Round {Round} was closed to answers but its consensus was not stored (the server stopped); storing it now", id);
            await FinishCloseAsync(id, closedBy);
        }
    }

    /// <summary>
    /// The close's second step: the consensus of every topic under the round's rules is computed from the round's
    /// answers (fixed since the first step) and stored with a hash of the data; the stop rule proposes carry or retire;
    /// retired topics leave the list. Does nothing if another call stored it first.
    /// </summary>
    async Task FinishCloseAsync(long roundId, long? userId)
    {
        RoundRow round;
        RoundResult result;
        string hash;
        Participation p;
        List<RoundTopicRow> topics;
        await using (var c = await db.OpenAsync())
        {
            round = (await RoundStore.ByIdAsync(c, roundId))!;
            if (!round.IsClosing) return;
            var survey = await catalog.DefinitionAsync(round.SurveyId);
            var stored = await RoundStore.AnswersAsync(c, round.Id);
            var answers = stored.Select(a => a.Row).ToList();
            result = await consensus.ComputeAsync(c, round, null, answers);
            topics = (await RoundStore.TopicsAsync(c, round.Id)).ToList();
            hash = RoundConsensus.DataHash(round.Number, round.RulesVersion, topics.Select(t => t.Code), answers);
            p = await RoundProgress.ParticipationAsync(c, survey, round, topics, stored);
        }
        await using (var w = await db.BeginWriteAsync())
        {
            var (c, tx) = w;
            if (await c.ExecuteScalarAsync<string?>("SELECT data_hash FROM rounds WHERE id = @roundId", new { roundId }, tx) is not null) return;
            var topicIds = topics.ToDictionary(x => x.Code, x => x.TopicId);
            foreach (var t in result.Topics)
            {
                var topicId = topicIds[t.Topic];
                var proposed = t.Settled ? "retire" : "carry";
                await c.ExecuteAsync("INSERT INTO consensus (round_id, topic_id, result) VALUES (@Id, @topicId, @json)",
                    new { round.Id, topicId, json = JsonSerializer.Serialize(t, Json.Stored) }, tx);
                await c.ExecuteAsync("""
                    UPDATE round_topics SET state = @State, stable = @stable, proposed = @proposed, decision = @proposed
                    WHERE round_id = @Id AND topic_id = @topicId
                    """, new { t.State, stable = t.Stable is null ? (int?)null : t.Stable.Value ? 1 : 0, proposed, round.Id, topicId }, tx);
                if (proposed == "retire")
                    await c.ExecuteAsync("UPDATE topics SET status = 'retired' WHERE id = @topicId AND status = 'active'", new { topicId }, tx);
            }
            await c.ExecuteAsync("""
                UPDATE rounds SET data_hash = @hash, invited = @Invited, responded = @Responded, finished = @Finished,
                    settled_pct = @SettledPct, stop = @stop, stop_reason = @StopReason, rankings = @rankings
                WHERE id = @Id
                """, new
                {
                    hash, p.Invited, p.Responded, p.Finished, result.SettledPct, stop = result.StopRecommended ? 1 : 0,
                    result.StopReason, rankings = JsonSerializer.Serialize(result.Rankings, Json.Stored), round.Id,
                }, tx);
            await Audit.LogAsync(c, tx, clock, userId, round.SurveyId, "round.closed", new
            {
                round.Number, data_hash = hash, settled = result.Topics.Count(t => t.Settled), topics = result.Topics.Count, p.Responded, p.Invited,
            });
            await tx.CommitAsync();
        }
        await changes.PublishAsync(new RoundClosed(round.SurveyId, round.Id, round.Number));
    }

    /// <summary>For tests: awaited between the close's two steps (the round closed to answers, its consensus not stored).</summary>
    public sealed class CloseHooks
    {
        public Func<long, Task>? BetweenCloseSteps { get; init; }
    }

    /// <summary>Sets, moves or removes an open round's deadline; jobs made for the old one find it changed and do nothing.</summary>
    public async Task<Outcome<RoundView>> SetDeadlineAsync(SurveyRef survey, int number, DeadlineRequest body, ClaimsPrincipal user)
    {
        if (body.Deadline is { } due && due <= clock.GetUtcNow()) return Refusal.BadRequest($"deadline {due:O} is in the past");
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var round = await RoundStore.RoundAsync(c, survey.Id, number, tx);
        if (round is null) return NoRound(survey, number);
        if (!round.IsOpen) return Refusal.Conflict($"Round {number} is closed; its deadline cannot change.");
        await c.ExecuteAsync("UPDATE rounds SET deadline = @deadline WHERE id = @Id", new { deadline = body.Deadline is { } d ? Db.Iso(d) : null, round.Id },
            tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "round.deadline_changed", new { number, body.Deadline });
        await tx.CommitAsync();
        await changes.PublishAsync(new DeadlineChanged(survey.Id, round.Id, number));
        return await ViewAsync(c, (await RoundStore.RoundAsync(c, survey.Id, number))!);
    }

    /// <summary>Consensus per topic and question: stored for a closed round, live for the open one.</summary>
    public async Task<Outcome<ConsensusView>> ConsensusAsync(SurveyRef survey, int number)
    {
        await using var c = await db.OpenAsync();
        var round = await RoundStore.RoundAsync(c, survey.Id, number);
        return round is null ? NoRound(survey, number) : await ConsensusViewAsync(c, round);
    }

    /// <summary>Overrides the stop rule for one topic of the last closed round, before the next round opens.</summary>
    public async Task<Outcome<TopicConsensus>> DecideAsync(SurveyRef survey, int number, string code, DecisionRequest body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var round = await RoundStore.RoundAsync(c, survey.Id, number, tx);
        if (round is null) return NoRound(survey, number);
        if (round.IsOpen) return Refusal.Conflict($"Round {number} is open; decide which topics go on after it closes.");
        if (round.IsClosing) return Refusal.Conflict($"Round {number} is closing; decide which topics go on once its consensus is stored.");
        var latest = await RoundStore.LatestAsync(c, survey.Id, tx);
        if (latest!.Number != number) return Refusal.Conflict($"Round {latest.Number} has opened since; decisions on round {number} are final.");
        var topic = (await RoundStore.TopicsAsync(c, round.Id, tx)).FirstOrDefault(t => t.Code == code);
        if (topic is null) return Refusal.NotFound($"Topic '{code}' was not in round {number}.");
        if (topic.TopicStatus == TopicStatus.Merged || topic.TopicStatus == TopicStatus.Split || topic.TopicStatus == TopicStatus.Removed)
            return Refusal.Conflict($"Topic '{code}' was {topic.TopicStatus} after round {number}; it cannot be carried or retired.");
        await c.ExecuteAsync(
            "UPDATE round_topics SET decision = @Decision, decision_note = @Note, decided_by = @userId WHERE round_id = @Id AND topic_id = @TopicId",
            new { body.Decision, body.Note, userId = user.UserId(), round.Id, topic.TopicId }, tx);
        await c.ExecuteAsync("UPDATE topics SET status = @status WHERE id = @TopicId",
            new { status = body.Decision == "retire" ? "retired" : "active", topic.TopicId }, tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "topic.decision",
            new { number, code, body.Decision, body.Note, proposed = topic.Proposed });
        await tx.CommitAsync();
        await changes.PublishAsync(new TopicsChanged(survey.Id));
        var view = await ConsensusViewAsync(c, round);
        return view.Topics.Single(t => t.Code == code);
    }

    public async Task<ConsensusView> ConsensusViewAsync(SqliteConnection c, RoundRow round)
    {
        var result = await consensus.GetAsync(c, round);
        var topics = (await RoundStore.TopicsAsync(c, round.Id)).ToDictionary(t => t.Code);
        return new ConsensusView(round.Number, round.Shown, round.RulesVersion, round.DataHash, result.SettledPct, result.StopRecommended, result.StopReason,
            result.Rankings,
            result.Topics.Select(t =>
            {
                var row = topics[t.Topic];
                return new TopicConsensus(t.Topic, t.Field, new LocalizedText(row.TitleZh, row.TitleEn), t.Respondents, t.NotFamiliar, t.State, t.Stable,
                    t.Settled, t.Polarized, row.Proposed, row.Decision, row.DecisionNote, t.Questions);
            }).ToList());
    }

    public async Task<RoundView> ViewAsync(SqliteConnection c, RoundRow round)
    {
        var survey = await catalog.DefinitionAsync(round.SurveyId);
        var topics = await RoundStore.TopicsAsync(c, round.Id);
        var answers = await RoundStore.AnswersAsync(c, round.Id);
        var p = await RoundProgress.ParticipationAsync(c, survey, round, topics, answers);
        var fields = await RoundProgress.FieldProgressAsync(c, survey, round, topics, answers);
        return new RoundView(round.Number, round.Shown, round.RulesVersion, round.OpenedAt, round.Deadline, round.ClosedAt, round.DataHash,
            topics.Count, p, fields, round.SettledPct, round.Stop is null ? null : round.Stop == 1, round.StopReason);
    }
}
