using Foresight.Core;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>
/// The expert's side of a survey, for the API and the expert's pages alike, so that both pass the same checks: the
/// questionnaire of the current round, a topic with its feedback, saving answers and rankings (through the answer
/// writer), the profile and the language. Whether answers are taken is decided by <see cref="AnswerWindow"/> alone.
/// </summary>
public sealed class QuestionnaireService(Db db, SurveyCatalog catalog, QuestionnaireCache cache, AnswerWriter writer, TimeProvider clock,
    IOptions<ForesightOptions> options) : IAnswerWindows
{
    sealed record Member(long Id, string Pseudonym, string? Language, long ExpertId, string ExpertLanguage);

    static async Task<Member> MemberAsync(SqliteConnection c, ClaimsPrincipal user) =>
        await c.QuerySingleAsync<Member>("""
            SELECT m.id, m.pseudonym, m.language, m.expert_id, e.language AS expert_language
            FROM panel_members m JOIN experts e ON e.id = m.expert_id WHERE m.id = @id
            """, new { id = user.MemberId() });

    /// <summary>The round an expert works on: the open one, else the latest (read-only).</summary>
    static async Task<RoundRow?> CurrentRoundAsync(SqliteConnection c, long surveyId) =>
        await RoundStore.OpenRoundAsync(c, surveyId) ?? await RoundStore.LatestAsync(c, surveyId);

    static async Task<List<RoundTopicRow>> MyTopicsAsync(SqliteConnection c, RoundRow round, long memberId)
    {
        var fields = (await c.QueryAsync<long>("SELECT field_id FROM panel_fields WHERE member_id = @memberId", new { memberId })).ToHashSet();
        return (await RoundStore.TopicsAsync(c, round.Id)).Where(t => fields.Contains(t.FieldId)).ToList();
    }

    static async Task<Dictionary<string, Dictionary<string, QuestionAnswer>>> MyAnswersAsync(SqliteConnection c, SurveyDefinition survey, RoundRow round,
        long memberId)
    {
        var rows = await c.QueryAsync<(string Topic, string Answers)>("""
            SELECT t.code, a.answers FROM topic_answers a JOIN topics t ON t.id = a.topic_id
            WHERE a.round_id = @Id AND a.member_id = @memberId
            """, new { round.Id, memberId });
        return rows.ToDictionary(r => r.Topic, r => TopicAnswerRow.Parse(r.Answers)
            .Where(a => survey.Question(a.Key) is not null)
            .ToDictionary(a => a.Key, a => new QuestionAnswer(AnswerValue.FromStored(a.Value.Value, a.Value.Number), a.Value.Rationale)));
    }

    static RoundInfo Info(RoundRow r) => new(r.Number, r.Status, r.Deadline);

    // ---------------------------------------------------------------- the answer window

    /// <summary>Whether the expert's answers are taken now, as the pages and messages ask it (read from the database).</summary>
    public async Task<AnswerWindow> ForMemberAsync(long surveyId, long memberId)
    {
        await using var c = await db.OpenAsync();
        var round = await CurrentRoundAsync(c, surveyId);
        if (round is null) return AnswerWindow.NoRound;
        var m = await QuestionnaireCache.MembershipAsync(c, round.Id, memberId);
        return AnswerWindow.Check(round.Number, round.IsOpen, AnswerWindow.ParseDeadline(round.Deadline), m.OnRound, m.Revoked, clock.GetUtcNow());
    }

    /// <summary>The open round and whether the expert's answers are taken in it, as a save asks it (cached; the writer asks again).</summary>
    async Task<(OpenRound? Open, AnswerWindow Window)> OpenWindowAsync(long surveyId, long memberId)
    {
        var open = await cache.OpenRoundAsync(surveyId);
        if (open is null) return (null, AnswerWindow.NoRound);
        var m = await cache.MembershipAsync(open.Round.Id, memberId);
        return (open, AnswerWindow.Check(open.Round.Number, true, open.Deadline, m.OnRound, m.Revoked, clock.GetUtcNow()));
    }

    // ---------------------------------------------------------------- reading

    public async Task<QuestionnaireView> GetAsync(SurveyRef survey, ClaimsPrincipal user)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        await using var c = await db.OpenAsync();
        var me = await MemberAsync(c, user);
        var round = await CurrentRoundAsync(c, survey.Id);
        var fields = await SurveyStore.FieldsAsync(c, survey.Id);
        var myFieldIds = (await c.QueryAsync<long>("SELECT field_id FROM panel_fields WHERE member_id = @Id", new { me.Id })).ToHashSet();
        var topics = round is null ? [] : await MyTopicsAsync(c, round, me.Id);
        var answers = round is null ? [] : await MyAnswersAsync(c, definition, round, me.Id);
        var allTopics = (await SurveyStore.TopicsAsync(c, survey.Id)).ToDictionary(t => t.Code);

        var fieldViews = fields.Where(f => myFieldIds.Contains(f.Id)).Select(f => new QuestionnaireField(f.Code, f.Name,
            topics.Where(t => t.FieldId == f.Id).Select(t =>
            {
                var row = allTopics[t.Code];
                var mine = answers.GetValueOrDefault(t.Code) ?? [];
                return new TopicEntry(t.Code, row.Title, row.TagList, row.Origin, mine.Count > 0 && TopicAnswers.IsComplete(definition, round!.Number, mine),
                    mine.Count);
            }).ToList())).ToList();

        var rankings = new List<RankingView>();
        if (round is not null)
        {
            var rankRows = (await c.QueryAsync<(string Topic, string Answers)>("""
                SELECT t.code, a.answers FROM topic_answers a JOIN topics t ON t.id = a.topic_id
                WHERE a.round_id = @Id AND a.member_id = @member
                """, new { round.Id, member = me.Id }))
                .SelectMany(r => TopicAnswerRow.Parse(r.Answers).Select(a => (Question: a.Key, r.Topic, a.Value.Number))).ToList();
            foreach (var r in definition.Rankings.Where(r => r.AskedIn(round.Number)))
            {
                var scopes = r.Scope == RankingScope.Field
                    ? topics.GroupBy(t => t.FieldCode).Select(g => ((string?)g.Key, g.Select(t => t.Code).ToList()))
                    : [((string?)null, topics.Select(t => t.Code).ToList())];
                foreach (var (field, codes) in scopes)
                {
                    var mine = rankRows.Where(x => x.Question == r.Id && codes.Contains(x.Topic)).OrderBy(x => x.Number).Select(x => x.Topic).ToList();
                    rankings.Add(new RankingView(r.Id, r.Text, r.Scope, field, codes, mine.Count > 0 ? mine : null));
                }
            }
        }
        var profile = (await c.QueryAsync<(string Question, string Value)>("SELECT question, value FROM profile_answers WHERE member_id = @Id", new { me.Id }))
            .ToDictionary(p => p.Question, p => p.Value);
        var progress = round is null ? new Progress(0, 0)
            : new Progress(topics.Count, topics.Count(t => answers.TryGetValue(t.Code, out var a) && TopicAnswers.IsComplete(definition, round.Number, a)));
        return new QuestionnaireView(survey.Slug, definition.Title, definition.Description, definition.Languages, me.Pseudonym,
            me.Language ?? me.ExpertLanguage, round is null ? null : Info(round), fieldViews,
            round is null ? definition.Questions : definition.Questions.Where(q => q.AskedIn(round.Number)).ToList(),
            rankings, definition.Profile, profile, progress, definition.Live.RealTime);
    }

    public async Task<(TopicSheet? Sheet, ProblemHttpResult? Problem)> TopicAsync(SurveyRef survey, string code, ClaimsPrincipal user)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        await using var c = await db.OpenAsync();
        var me = await MemberAsync(c, user);
        var round = await CurrentRoundAsync(c, survey.Id);
        if (round is null) return (null, Problems.Conflict("No round has opened yet."));
        var topics = await MyTopicsAsync(c, round, me.Id);
        var entry = topics.FirstOrDefault(t => t.Code == code);
        if (entry is null) return (null, Problems.NotFound($"Topic '{code}' is not in your questionnaire for round {round.Number}."));
        var row = (await SurveyStore.TopicAsync(c, survey.Id, code))!;
        var parents = (await SurveyStore.ParentsAsync(c, survey.Id))[row.Id].ToList();
        var answers = (await MyAnswersAsync(c, definition, round, me.Id)).GetValueOrDefault(code) ?? [];
        TopicFeedback? feedback = null;
        if (round.Number > 1 && await RoundStore.RoundAsync(c, survey.Id, round.Number - 1) is { } previous)
            feedback = await Feedback.BuildAsync(c, definition, previous, row, me.Id, options.Value.Insights.Enabled);
        var messages = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM messages WHERE topic_id = @Id AND hidden_at IS NULL", new { row.Id });
        return (new TopicSheet(code, row.FieldCode, row.Title, row.Background, row.TagList, row.Origin, parents, Info(round),
            definition.Questions.Where(q => q.AskedIn(round.Number)).Select(q => q.Id).ToList(),
            Views(definition, answers), answers.Count > 0 && TopicAnswers.IsComplete(definition, round.Number, answers), feedback, (int)messages,
            options.Value.Insights.Enabled ? await Insights.Review.EvidenceAsync(c, survey.Id, row.Id) : []), null);
    }

    /// <summary>The rules between a topic's answers in a round, with the previous round's quartiles the save is held against.</summary>
    public async Task<AnswerRules> RulesAsync(long surveyId, int roundNumber, string code)
    {
        var definition = await catalog.DefinitionAsync(surveyId);
        RoundRow? round;
        await using (var c = await db.OpenAsync()) round = await RoundStore.RoundAsync(c, surveyId, roundNumber);
        return AnswerRules.For(definition, roundNumber, round is null ? null : await cache.QuartilesAsync(surveyId, round, code));
    }

    public static Dictionary<string, AnswerView> Views(SurveyDefinition s, IReadOnlyDictionary<string, QuestionAnswer> answers) =>
        answers.ToDictionary(a => a.Key, a => new AnswerView(a.Value.Value.ToJson(s.Question(a.Key)!), a.Value.Rationale));

    public async Task<List<HistoryEntry>> HistoryAsync(SurveyRef survey, string code, ClaimsPrincipal user)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<(long Round, string Question, string? Value, string? Rationale, string RecordedAt)>("""
            SELECT r.number, j.key, j.value ->> 'value', j.value ->> 'rationale', h.recorded_at
            FROM answer_history h JOIN rounds r ON r.id = h.round_id JOIN topics t ON t.id = h.topic_id, json_each(h.changes) j
            WHERE h.member_id = @member AND t.code = @code AND t.survey_id = @Id ORDER BY h.id, j.key
            """, new { member = user.MemberId(), code, survey.Id });
        return rows.Select(r => new HistoryEntry((int)r.Round, r.Question, r.Value, r.Rationale, r.RecordedAt)).ToList();
    }

    // ---------------------------------------------------------------- saving

    /// <summary>
    /// Saves answers to one topic: the round must be open for the expert and the topic theirs. With an Idempotency-Key,
    /// <paramref name="respond"/> turns the saved topic into the response, which the writer stores with the save.
    /// </summary>
    /// <param name="store">false only for the save ladder's benchmark step (<see cref="SaveLadder"/>): everything but the answer writer</param>
    public async Task<(SaveOutcome Outcome, SavedTopic? View)> SaveTopicAsync(SurveyRef survey, string code, SaveTopicRequest body, ClaimsPrincipal user,
        string? idempotencyKey = null, Func<SavedTopic, string>? respond = null, bool store = true)
    {
        var memberId = user.MemberId()!.Value;
        var (open, window) = await OpenWindowAsync(survey.Id, memberId);
        if (!window.Open) return (new SaveOutcome.Closed(window), null);
        var round = open!.Round;
        if (!open.Topics.TryGetValue(code, out var topic) || !(await cache.MemberFieldsAsync(memberId)).Contains(topic.FieldId))
            return (new SaveOutcome.NotFound($"Topic '{code}' is not in your questionnaire for round {round.Number}."), null);
        var definition = await catalog.DefinitionAsync(survey.Id);
        var rules = AnswerRules.For(definition, round.Number, await cache.QuartilesAsync(survey.Id, round, code));
        SavedTopic View(SaveOutcome.Saved saved) => new(code, round.Number, Views(definition, saved.Answers), saved.Changed, saved.Complete);

        SaveOutcome outcome;
        if (!store)
        {
            // Checked as a first answer to the topic would be, and answered as saved; nothing is written.
            var applied = TopicAnswers.Apply(rules, new Dictionary<string, QuestionAnswer>(StringComparer.Ordinal), body.Answers ?? [], body.Rationales ?? []);
            outcome = applied.Ok ? new SaveOutcome.Saved(applied.Answers, [.. applied.Answers.Keys.Order(StringComparer.Ordinal)],
                TopicAnswers.IsComplete(definition, round.Number, applied.Answers)) : new SaveOutcome.Invalid(applied.Errors);
        }
        else
            outcome = await writer.SubmitAsync(new Submission(survey.Id, round.Id, round.Number, memberId, user.Identity!.Name!, code, topic.TopicId,
                body.Answers ?? [], body.Rationales ?? [], rules, idempotencyKey,
                // Only a keyed request is compared with an earlier one (the body is serialized again for it).
                idempotencyKey is null ? null : Hash(code, body))
            {
                Respond = idempotencyKey is null || respond is null ? null : o => respond(View((SaveOutcome.Saved)o)),
            });
        return (outcome, outcome is SaveOutcome.Saved s ? View(s) : null);
    }

    /// <summary>What a keyed request asked for: its target and body.</summary>
    static string Hash(string target, object body) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(target + "\n" + JsonSerializer.Serialize(body))));

    /// <summary>Saves a ranking of the expert's topics (of one field, or all), through the answer writer like a topic's answers.</summary>
    public async Task<(SaveOutcome Outcome, RankingView? View)> RankAsync(SurveyRef survey, string ranking, RankingRequest body, ClaimsPrincipal user,
        string? idempotencyKey = null, Func<RankingView, string>? respond = null)
    {
        var memberId = user.MemberId()!.Value;
        var (open, window) = await OpenWindowAsync(survey.Id, memberId);
        if (!window.Open) return (new SaveOutcome.Closed(window), null);
        var round = open!.Round;
        var definition = await catalog.DefinitionAsync(survey.Id);
        var r = definition.Rankings.FirstOrDefault(x => x.Id == ranking);
        if (r is null) return (new SaveOutcome.NotFound($"The survey has no ranking '{ranking}'."), null);
        if (!r.AskedIn(round.Number)) return (new SaveOutcome.BadRequest($"Ranking '{ranking}' is not asked in round {round.Number}."), null);
        var fields = await cache.MemberFieldsAsync(memberId);
        var topics = open.Topics.Values.Where(t => fields.Contains(t.FieldId)).OrderBy(t => t.Position).ToList();
        string? field = null;
        if (r.Scope == RankingScope.Field)
        {
            var myFields = topics.Select(t => t.FieldCode).Distinct().ToList();
            field = body.Field ?? (myFields.Count == 1 ? myFields[0] : null);
            if (field is null)
                return (new SaveOutcome.BadRequest($"Ranking '{ranking}' ranks the topics of one field; say which: field is one of " +
                    $"{string.Join(", ", myFields)}."), null);
            if (!myFields.Contains(field)) return (new SaveOutcome.BadRequest($"Field '{field}' is not one of yours ({string.Join(", ", myFields)})."), null);
            topics = topics.Where(t => t.FieldCode == field).ToList();
        }
        var codes = topics.Select(t => t.Code).ToList();
        var unknown = body.Order.Where(code => !codes.Contains(code)).ToList();
        if (unknown.Count > 0)
            return (new SaveOutcome.BadRequest($"{string.Join(", ", unknown)} {(unknown.Count == 1 ? "is" : "are")} not among the topics to rank: " +
                $"{string.Join(", ", codes)}."), null);

        var view = new RankingView(r.Id, r.Text, r.Scope, field, codes, body.Order);
        var outcome = await writer.SubmitAsync(new RankingSubmission(survey.Id, round.Id, round.Number, memberId, user.Identity!.Name!, ranking,
            topics.ToDictionary(t => t.Code, t => t.TopicId, StringComparer.Ordinal), body.Order, idempotencyKey,
            idempotencyKey is null ? null : Hash("rankings/" + ranking, body))
        {
            Respond = idempotencyKey is null || respond is null ? null : _ => respond(view),
        });
        return (outcome, outcome is SaveOutcome.Ranked ? view : null);
    }

    /// <summary>The expert's profile answers (each an option of a profile question); the round must be open for the expert.</summary>
    public async Task<SaveOutcome> SaveProfileAsync(SurveyRef survey, ProfileRequest body, ClaimsPrincipal user)
    {
        var memberId = user.MemberId()!.Value;
        var (_, window) = await OpenWindowAsync(survey.Id, memberId);
        if (!window.Open) return new SaveOutcome.Closed(window);
        var definition = await catalog.DefinitionAsync(survey.Id);
        var errors = new List<AnswerError>();
        foreach (var (id, value) in body.Answers)
        {
            var q = definition.Profile.FirstOrDefault(p => p.Id == id);
            if (q is null)
                errors.Add(new(id,
                    AnswerErrorKind.NotAsked, $"the survey has no profile question '{id}'; its profile questions are " +
                    $"{string.Join(", ", definition.Profile.Select(p => p.Id))}"));
            else if (q.Options.All(o => o.Code != value))
                errors.Add(new(id, AnswerErrorKind.Value, $"'{id}' takes one of {string.Join(", ", q.Options.Select(o => o.Code))}; got '{value}'"));
        }
        if (errors.Count > 0) return new SaveOutcome.Invalid(errors);
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        foreach (var (id, value) in body.Answers)
            await c.ExecuteAsync("""
                INSERT INTO profile_answers (member_id, question, value) VALUES (@memberId, @id, @value)
                ON CONFLICT (member_id, question) DO UPDATE SET value = excluded.value
                """, new { memberId, id, value }, tx);
        await tx.CommitAsync();
        var all = (await c.QueryAsync<(string Question, string Value)>("SELECT question, value FROM profile_answers WHERE member_id = @memberId",
            new { memberId }))
            .ToDictionary(p => p.Question, p => p.Value);
        return new SaveOutcome.ProfileSaved(all);
    }

    /// <summary>The language the expert reads in (e-mails follow it).</summary>
    public async Task SetLanguageAsync(LanguageRequest body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        await c.ExecuteAsync("UPDATE panel_members SET language = @language WHERE id = @id",
            new { language = Languages.Normalize(body.Language), id = user.MemberId() }, tx);
        await tx.CommitAsync();
    }
}
