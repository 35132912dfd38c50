using Foresight.Core;
using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Foresight.Core.Insights;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Features.Topics;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Insights;

public sealed record RecordBrief(long Id, string SourceType, string Title, int? Year, string? Source, string? Doi, IReadOnlyList<string> Countries);

/// <summary>A machine proposal ("instant judgment") with its evidence: what it is, what supports it, how it was made.</summary>
public sealed record ProposalView(long Id, long Analysis, int Cluster, ProposalStatus Status, LocalizedText SuggestedTitle,
    IReadOnlyList<LabelTerm> LabelTerms, int Size, IReadOnlyList<YearCount> RecordsPerYear, double? GrowthRate,
    IReadOnlyList<CountryShare> Countries, string? NearestField, double? FieldSimilarity, bool OutsideFields, bool WeakSignal,
    IReadOnlyList<RecordBrief> Representatives, JsonElement Method, IReadOnlyList<string> Topics);

public sealed record DecisionView(long Id, string Decision, IReadOnlyList<long> Proposals, IReadOnlyList<string> Topics, string? Note, string CreatedAt,
    string? By);

public sealed record AcceptProposal(string Code, string? Field, IReadOnlyList<string>? Tags) : IValidatable
{
    public IEnumerable<string> Validate() => TopicRules.Check(Code, null, null, Tags, null);
}

public sealed record EditProposal(string Code, string? Field, TextInput Title, TextInput? Background, IReadOnlyList<string>? Tags) : IValidatable
{
    public IEnumerable<string> Validate() => TopicRules.Check(Code, Title, Background, Tags, null);
}

public sealed record MergeProposals(IReadOnlyList<long> Proposals, string Code, string? Field, TextInput Title, TextInput? Background) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Proposals is null || Proposals.Distinct().Count() < 2) yield return "proposals must name at least two different proposals to merge";
        foreach (var e in TopicRules.Check(Code, Title, Background, null, null)) yield return e;
    }
}

public sealed record SplitProposal(IReadOnlyList<SplitPart> Into) : IValidatable
{
    public IEnumerable<string> Validate() => new SplitRequest(Into, null).Validate();
}

public sealed record RejectProposal(string? Note) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Note is { Length: > 2000 }) yield return "note is longer than 2000 characters";
    }
}

/// <summary>
/// The review queue: a coordinator accepts a proposal as it stands, edits it, merges several or splits one into
/// topics of the survey (origin "machine", with the proposal kept as the topic's evidence), or rejects it. Topics can
/// change only while no round is open, as for the topic list itself. Each decision is logged with who and when.
/// </summary>
public static class Review
{
    public static async Task<List<ProposalView>> ProposalsAsync(SqliteConnection c, long surveyId, string? status = null, IReadOnlyCollection<long>? ids = null,
        SqliteTransaction? tx = null)
    {
        var args = new DynamicParameters(new { surveyId, status });
        var only = "";
        if (ids is not null) { only = " AND p.id IN @ids"; args.Add("ids", ids); }
        var rows = (await c.QueryAsync<ProposalRow>($"""
            SELECT p.*, a.parameters FROM insight_proposals p JOIN insight_analyses a ON a.id = p.analysis_id
            WHERE p.survey_id = @surveyId AND (@status IS NULL OR p.status = @status){only} ORDER BY p.analysis_id DESC, p.cluster
            """, args, tx)).ToList();
        if (rows.Count == 0) return [];
        var proposalIds = rows.Select(r => r.Id).ToList();
        var representatives = (await c.QueryAsync<(long ProposalId, long Id, string SourceType, string Title, long? Year, string? Source, string? Doi,
            string Countries)>("""
            SELECT pr.proposal_id, r.id, r.source_type, r.title, r.year, r.source, r.doi, r.countries FROM insight_proposal_records pr
            JOIN literature_records r ON r.id = pr.record_id WHERE pr.proposal_id IN @proposalIds AND pr.representative IS NOT NULL ORDER BY pr.representative
            """, new { proposalIds }, tx)).ToLookup(r => r.ProposalId, r => new RecordBrief(r.Id, r.SourceType, r.Title, (int?)r.Year, r.Source, r.Doi,
                r.Countries.Split(';', StringSplitOptions.RemoveEmptyEntries)));
        var topics = (await c.QueryAsync<(long ProposalId, string Code)>("""
            SELECT e.proposal_id, t.code FROM topic_evidence e JOIN topics t ON t.id = e.topic_id WHERE e.proposal_id IN @proposalIds ORDER BY t.position
            """, new { proposalIds }, tx)).ToLookup(r => r.ProposalId, r => r.Code);
        return rows.Select(r =>
        {
            var terms = JsonSerializer.Deserialize<List<LabelTerm>>(r.LabelTerms, Json.Stored)!;
            return new ProposalView(r.Id, r.AnalysisId, (int)r.Cluster, r.Status, SuggestedTitle(terms), terms, (int)r.Size,
                JsonSerializer.Deserialize<List<YearCount>>(r.RecordsPerYear, Json.Stored)!, r.GrowthRate,
                JsonSerializer.Deserialize<List<CountryShare>>(r.Countries, Json.Stored)!, r.NearestField, r.FieldSimilarity, r.OutsideFields, r.WeakSignal,
                representatives[r.Id].ToList(), JsonSerializer.Deserialize<JsonElement>(r.Parameters), topics[r.Id].ToList());
        }).ToList();
    }

    /// <summary>
    /// Proposals whose every topic was deleted (before round 1, or by replacing the survey file) go back to the review
    /// queue, so that the queue and the evaluation count only proposals that stand in the topic list.
    /// </summary>
    public static Task ReopenOrphansAsync(SqliteConnection c, SqliteTransaction tx, long surveyId) =>
        c.ExecuteAsync("""
            UPDATE insight_proposals SET status = 'open', decision_id = NULL
            WHERE survey_id = @surveyId AND status IN ('accepted', 'edited', 'merged', 'split') AND id NOT IN (SELECT proposal_id FROM topic_evidence)
            """, new { surveyId }, tx);

    /// <summary>The proposals a topic was made from: what experts see as its machine-generated background.</summary>
    public static async Task<List<ProposalView>> EvidenceAsync(SqliteConnection c, long surveyId, long topicId)
    {
        var ids = (await c.QueryAsync<long>("SELECT proposal_id FROM topic_evidence WHERE topic_id = @topicId", new { topicId })).ToList();
        return ids.Count == 0 ? [] : await ProposalsAsync(c, surveyId, ids: ids);
    }

    public sealed class ProposalRow
    {
        public long Id { get; init; }
        public long AnalysisId { get; init; }
        public long Cluster { get; init; }
        public string LabelTerms { get; init; } = "";
        public long Size { get; init; }
        public string RecordsPerYear { get; init; } = "";
        public double? GrowthRate { get; init; }
        public string Countries { get; init; } = "";
        public string? NearestField { get; init; }
        public double? FieldSimilarity { get; init; }
        public bool OutsideFields { get; init; }
        public bool WeakSignal { get; init; }
        public ProposalStatus Status { get; init; } = ProposalStatus.Open;
        public string Parameters { get; init; } = "";
    }

    /// <summary>
    /// A working title from the label terms: the first three Chinese terms joined with 、 and the first three others with
    /// commas. It names what the records share; a coordinator usually rewrites it as a technology statement (edit).
    /// </summary>
    public static LocalizedText SuggestedTitle(IReadOnlyList<LabelTerm> terms)
    {
        var zh = terms.Where(t => t.Display.Any(Tokenizer.IsCjk)).Take(3).Select(t => t.Display).ToList();
        var en = terms.Where(t => !t.Display.Any(Tokenizer.IsCjk)).Take(3).Select(t => t.Display).ToList();
        return new LocalizedText(zh.Count == 0 ? null : string.Join("、", zh), en.Count == 0 ? null : string.Join(", ", en));
    }

    /// <summary>The open proposals named, in the survey; or why not.</summary>
    internal static async Task<(List<ProposalView> Proposals, Refusal? Error)> OpenAsync(SqliteConnection c, SqliteTransaction tx, SurveyRef survey,
        IReadOnlyCollection<long> ids)
    {
        var found = await ProposalsAsync(c, survey.Id, ids: ids, tx: tx);
        foreach (var id in ids)
        {
            var p = found.FirstOrDefault(p => p.Id == id);
            if (p is null) return ([], Refusal.NotFound($"Survey '{survey.Slug}' has no proposal {id}."));
            if (p.Status != ProposalStatus.Open) return ([], Refusal.Conflict($"Proposal {id} was {p.Status} already; each proposal is decided once."));
        }
        return (ids.Select(id => found.First(p => p.Id == id)).ToList(), null);
    }

    /// <summary>Creates the topics of a decision with their evidence, marks the proposals and logs the decision.</summary>
    internal static async Task<Refusal?> DecideAsync(SqliteConnection c, SqliteTransaction tx, SurveyRef survey, SurveyDefinition definition,
        ClaimsPrincipal user,
        DateTimeOffset now, ProposalStatus decision, IReadOnlyList<ProposalView> proposals,
        IReadOnlyList<(string Code, string? Field, LocalizedText Title, LocalizedText? Background, IReadOnlyList<string>? Tags)> topics, string? note)
    {
        var made = new List<string>();
        foreach (var t in topics)
        {
            var missing = definition.Languages.Where(l => string.IsNullOrWhiteSpace(t.Title[l])).ToList();
            if (missing.Count > 0)
                return Refusal.BadRequest(decision == ProposalStatus.Accepted
                    ? $"The survey is in {string.Join(" and ", definition.Languages)}; the proposal's terms give no {string.Join(", ", missing)} title. Edit " +
                    "the proposal and give its title."
                    : $"The survey is in {string.Join(" and ", definition.Languages)}; the title has no {string.Join(", ", missing)} text.");
            var fieldCode = t.Field ?? proposals[0].NearestField;
            if (fieldCode is null) return Refusal.BadRequest("Say which field the topic belongs to: the proposal matched no field.");
            var fieldId = await c.ExecuteScalarAsync<long?>("SELECT id FROM fields WHERE survey_id = @Id AND code = @fieldCode", new { survey.Id, fieldCode },
                tx);
            if (fieldId is null) return Refusal.BadRequest($"Survey '{survey.Slug}' has no field '{fieldCode}'.");
            if (await SurveyStore.TopicAsync(c, survey.Id, t.Code, tx) is not null) return Refusal.Conflict($"Topic code '{t.Code}' is taken in this survey.");
            var topicId = await TopicsService.InsertAsync(c, tx, survey.Id, fieldId.Value, t.Code, t.Title, t.Background,
                t.Tags ?? proposals.SelectMany(p => p.LabelTerms.Take(3).Select(l => l.Display)).Distinct().Take(6).ToList(), "machine", now);
            await c.ExecuteAsync("INSERT INTO topic_evidence (topic_id, proposal_id) VALUES (@topicId, @Id)", proposals.Select(p => new { topicId, p.Id }), tx);
            made.Add(t.Code);
        }
        var decisionId = await c.ExecuteScalarAsync<long>("""
            INSERT INTO insight_decisions (survey_id, decision, proposals, topics, note, created_at, created_by)
            VALUES (@surveyId, @decision, @ids, @made, @note, @now, @userId) RETURNING id
            """, new
            {
                surveyId = survey.Id, decision, ids = JsonSerializer.Serialize(proposals.Select(p => p.Id)), made = JsonSerializer.Serialize(made),
                note, now = Db.Iso(now), userId = user.UserId(),
            }, tx);
        await c.ExecuteAsync("UPDATE insight_proposals SET status = @decision, decision_id = @decisionId WHERE id IN @ids",
            new { decision, decisionId, ids = proposals.Select(p => p.Id).ToList() }, tx);
        await Audit.LogAsync(c, tx, now, user.UserId(), survey.Id, "insights.proposal." + decision,
            new { proposals = proposals.Select(p => p.Id), topics = made, note });
        return null;
    }

    public static async Task<List<DecisionView>> DecisionsAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null)
    {
        var rows = await c.QueryAsync<(long Id, string Decision, string Proposals, string Topics, string? Note, string CreatedAt, string? By)>("""
            SELECT d.id, d.decision, d.proposals, d.topics, d.note, d.created_at, u.name FROM insight_decisions d
            LEFT JOIN users u ON u.id = d.created_by WHERE d.survey_id = @surveyId ORDER BY d.id DESC
            """, new { surveyId }, tx);
        return rows.Select(r => new DecisionView(r.Id, r.Decision, JsonSerializer.Deserialize<List<long>>(r.Proposals)!,
            JsonSerializer.Deserialize<List<string>>(r.Topics)!, r.Note, r.CreatedAt, r.By)).ToList();
    }
}

/// <summary>
/// The review queue's decisions, each in one write transaction: the proposals must still be open, and a decision that
/// makes topics is taken only between rounds (a rejection at any time).
/// </summary>
public sealed class ReviewService(Db db, SurveyCatalog catalog, TimeProvider clock)
{
    public Task<Outcome<DecisionView>> AcceptAsync(SurveyRef survey, long id, AcceptProposal body, ClaimsPrincipal user) =>
        DecideAsync(survey, user, ProposalStatus.Accepted, [id], p => [(body.Code, body.Field, p[0].SuggestedTitle, null, body.Tags)], null);

    public Task<Outcome<DecisionView>> EditAsync(SurveyRef survey, long id, EditProposal body, ClaimsPrincipal user) =>
        DecideAsync(survey, user, ProposalStatus.Edited, [id], _ => [(body.Code, body.Field, body.Title.ToText(), body.Background?.ToText(), body.Tags)], null);

    public Task<Outcome<DecisionView>> MergeAsync(SurveyRef survey, MergeProposals body, ClaimsPrincipal user) =>
        DecideAsync(survey, user, ProposalStatus.Merged, body.Proposals.Distinct().ToList(), _ =>
            [(body.Code, body.Field, body.Title.ToText(), body.Background?.ToText(), null)], null);

    public Task<Outcome<DecisionView>> SplitAsync(SurveyRef survey, long id, SplitProposal body, ClaimsPrincipal user) =>
        DecideAsync(survey, user, ProposalStatus.Split, [id],
            _ => body.Into.Select(p => (p.Code, p.Field, p.Title.ToText(), p.Background?.ToText(), p.Tags)).ToList(),
        null);

    public Task<Outcome<DecisionView>> RejectAsync(SurveyRef survey, long id, RejectProposal body, ClaimsPrincipal user) =>
        DecideAsync(survey, user, ProposalStatus.Rejected, [id], _ => [], string.IsNullOrWhiteSpace(body.Note) ? null : body.Note.Trim());

    async Task<Outcome<DecisionView>> DecideAsync(SurveyRef survey, ClaimsPrincipal user, ProposalStatus decision, IReadOnlyCollection<long> ids,
        Func<IReadOnlyList<ProposalView>, IReadOnlyList<(string, string?, LocalizedText, LocalizedText?, IReadOnlyList<string>?)>> topics, string? note)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (decision != ProposalStatus.Rejected)
        {
            var (_, closed) = await TopicsService.BetweenRoundsAsync(c, tx, survey);
            if (closed is not null) return closed;
        }
        var (proposals, error) = await Review.OpenAsync(c, tx, survey, ids);
        if (error is not null) return error;
        if (await Review.DecideAsync(c, tx, survey, definition, user, clock.GetUtcNow(), decision, proposals, topics(proposals), note) is { } refused)
            return refused;
        var id = await c.ExecuteScalarAsync<long>("SELECT MAX(id) FROM insight_decisions WHERE survey_id = @Id", new { survey.Id }, tx);
        var view = (await Review.DecisionsAsync(c, survey.Id, tx)).First(d => d.Id == id);
        await tx.CommitAsync();
        return view;
    }

    /// <summary>The survey's proposals, all or those of one status (open: the review queue).</summary>
    public async Task<Outcome<List<ProposalView>>> ProposalsAsync(SurveyRef survey, string? status)
    {
        if (status is not (null or "open" or "accepted" or "edited" or "merged" or "split" or "rejected"))
            return Refusal.BadRequest("status must be open, accepted, edited, merged, split or rejected.");
        await using var c = await db.OpenAsync();
        return await Review.ProposalsAsync(c, survey.Id, status);
    }

    public async Task<List<DecisionView>> DecisionsAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        return await Review.DecisionsAsync(c, survey.Id);
    }

    public async Task<InsightsEvaluationView> EvaluationAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        return await InsightsEvaluation.ComputeAsync(c, survey.Id);
    }
}

/// <summary>A topic made from a proposal may be deleted before round 1: its proposal goes back to the review queue.</summary>
public sealed class ProposalsOfDeletedTopics : Surveys.ITopicDeletion
{
    public Task TopicsDeletedAsync(SqliteConnection c, SqliteTransaction tx, long surveyId) => Review.ReopenOrphansAsync(c, tx, surveyId);
}
