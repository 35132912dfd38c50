using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;
using Foresight.Reports;
using Foresight.Server.Features.KeyTechnologies;
using Foresight.Server.Features.Questionnaire;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Reports;

/// <summary>
/// Builds a report's view model from the stored data: the reported round's consensus as stored when it closed, each
/// topic's history over rounds, the wording the round asked, the anonymized rationales, the panel, the rules, the
/// key-technology ranking and selections. Its data version is a hash of the whole model.
/// </summary>
public sealed class ReportBuilder(SurveyCatalog catalog, Microsoft.Extensions.Options.IOptions<ForesightOptions> options, TimeProvider clock)
{

    /// <summary>
    /// The renderer's own version: a new build of the report templates gives every report a new version, so a stored
    /// PDF is never one made by older templates.
    /// </summary>
    public static readonly string FormatVersion = "foresight-report/1 " + typeof(ReportHtml).Assembly.ManifestModule.ModuleVersionId;

    /// <returns>null when there is no such closed round (or no closed round for a study report)</returns>
    public async Task<ReportModel?> BuildAsync(SqliteConnection c, long surveyId, string kind, int round, string language)
    {
        var survey = await catalog.DefinitionAsync(surveyId);
        var rounds = (await RoundStore.AllAsync(c, surveyId)).Where(r => !r.IsOpen).ToList();
        if (kind == "study") round = rounds.Count == 0 ? 0 : rounds.Max(r => r.Number);
        var reported = rounds.FirstOrDefault(r => r.Number == round);
        if (reported is null) return null;
        var upTo = rounds.Where(r => r.Number <= round).OrderBy(r => r.Number).ToList();

        var snapshots = new Dictionary<int, Dictionary<string, TopicResult>>();
        foreach (var r in upTo) snapshots[r.Number] = await RoundStore.SnapshotAsync(c, r.Id);
        var allTopics = (await SurveyStore.TopicsAsync(c, surveyId)).ToDictionary(t => t.Code);
        var fields = await SurveyStore.FieldsAsync(c, surveyId);

        // The topics reported, with the round whose result is shown: the reported round's topics, or for a study
        // report every topic ever asked, each with its last result.
        var shown = new List<(TopicRow Topic, int Round)>();
        if (kind == "round")
            foreach (var t in await RoundStore.TopicsAsync(c, reported.Id)) shown.Add((allTopics[t.Code], round));
        else
            foreach (var t in allTopics.Values)
                if (upTo.Select(r => r.Number).Where(n => snapshots[n].ContainsKey(t.Code)).DefaultIfEmpty(0).Max() is var last and > 0)
                    shown.Add((t, last));

        var decisions = new Dictionary<(int, string), string?>();
        foreach (var r in upTo)
            foreach (var t in await RoundStore.TopicsAsync(c, r.Id)) decisions[(r.Number, t.Code)] = t.Decision;
        var revisions = (await c.QueryAsync<(long TopicId, long AfterRound, string? TitleZh, string? TitleEn, string? BackgroundZh, string? BackgroundEn)>("""
            SELECT r.topic_id, r.after_round, r.title_zh, r.title_en, r.background_zh, r.background_en
            FROM topic_revisions r JOIN topics t ON t.id = r.topic_id WHERE t.survey_id = @surveyId ORDER BY r.id
            """, new { surveyId })).ToLookup(r => r.TopicId);

        var rationales = new Dictionary<(int, string), Dictionary<string, IReadOnlyList<string>>>();
        foreach (var (topic, shownRound) in shown.DistinctBy(s => (s.Round, s.Topic.Code)))
            rationales[(shownRound, topic.Code)] = [];
        foreach (var group in shown.GroupBy(s => s.Round))
        {
            var roundRow = upTo.Single(r => r.Number == group.Key);
            var answers = await RoundStore.AnswersAsync(c, roundRow.Id);
            var codes = group.Select(g => g.Topic.Code).ToHashSet();
            foreach (var byTopic in answers.Where(a => codes.Contains(a.Topic)).GroupBy(a => a.Topic))
            {
                var target = rationales[(group.Key, byTopic.Key)];
                foreach (var q in survey.Questions)
                {
                    var texts = Rationales.Anonymous(byTopic.Where(a => a.Question == q.Id).Select(a => Rationales.ShownText(q, a)));
                    if (texts.Count > 0) target[q.Id] = texts;
                }
            }
        }

        var reportTopics = shown.Select(s =>
        {
            var (title, background) = AsAsked(s.Topic, s.Round, revisions[s.Topic.Id]);
            var history = upTo.Where(r => r.Number <= s.Round)
                .Select(r => (r.Number, snapshots[r.Number].TryGetValue(s.Topic.Code, out var res) ? res : (TopicResult?)null)).ToList();
            return new ReportTopic(s.Topic.Code, s.Topic.FieldCode, title, background, s.Topic.Origin, s.Topic.TagList,
                snapshots[s.Round][s.Topic.Code], history, decisions.GetValueOrDefault((s.Round, s.Topic.Code)), rationales[(s.Round, s.Topic.Code)]);
        }).ToList();

        var fieldOrder = fields.Select((f, i) => (f.Code, i)).ToDictionary(x => x.Code, x => x.i);
        var topicOrder = allTopics.Values.ToDictionary(t => t.Code, t => t.Position);
        var reportFields = fields.Select(f => new ReportField(f.Code, f.Name,
            reportTopics.Where(t => t.Field == f.Code).OrderBy(t => topicOrder[t.Code]).ToList())).Where(f => f.Topics.Count > 0).ToList();

        var firstRules = await c.ExecuteScalarAsync<int?>("SELECT rules_version FROM rounds WHERE survey_id = @surveyId AND number = 1", new { surveyId }) ?? 1;
        var facts = await FactsAsync(c, survey, surveyId, upTo, snapshots);
        var ranking = kind == "study"
            ? (await KeyTechnologiesService.RankingAsync(c, survey, surveyId)).Select(r =>
                new RankedKeyTechnology(r.Rank, r.RankFamW, r.Code, AsAsked(allTopics[r.Code], r.Round, revisions[allTopics[r.Code].Id]).Title,
                    r.ImportanceIndex, r.ImportanceIndexFamW, r.State)).ToList()
            : RoundRanking(survey, reportTopics);
        var selections = kind == "study"
            ? (await KeyTechnologiesService.SelectionsAsync(c, surveyId)).Select(s =>
                new KeySelection(Db.FromIso(s.CreatedAt),
                s.Round, s.Criteria, s.Topics.Select(t => (t.Rank, t.Code, t.Title)).ToList())).ToList()
            : [];

        var model = new ReportModel
        {
            Kind = kind,
            Language = language,
            Survey = survey,
            Round = round,
            Rounds = facts,
            Panel = await PanelAsync(c, survey, surveyId),
            DeclaredRules = await catalog.RulesAsync(surveyId, firstRules),
            DeclaredRulesVersion = firstRules,
            RoundRules = await catalog.RulesAsync(surveyId, reported.RulesVersion),
            RoundRulesVersion = reported.RulesVersion,
            Fields = reportFields,
            Ranking = ranking,
            Selections = selections,
            DataHash = reported.DataHash ?? "",
            DataVersion = "",
            GeneratedAt = clock.GetUtcNow(),
            MinGroupSize = survey.Feedback.MinGroupSize,
            Machine = kind == "study" && options.Value.Insights.Enabled ? await MachineAsync(c, surveyId) : null,
        };
        return model with { DataVersion = Version(model) };
    }

    /// <summary>The machine layer's evaluation for the study report; null when no analysis proposed anything.</summary>
    static async Task<MachineLayer?> MachineAsync(SqliteConnection c, long surveyId)
    {
        var e = await Insights.InsightsEvaluation.ComputeAsync(c, surveyId);
        if (e.Proposals == 0) return null;
        var topics = await c.ExecuteScalarAsync<long>(
            "SELECT COUNT(DISTINCT e.topic_id) FROM topic_evidence e JOIN topics t ON t.id = e.topic_id WHERE t.survey_id = @surveyId", new { surveyId });
        return new MachineLayer(e.Records, e.Analyses, e.Proposals, e.Open, e.Decided, e.Shares, e.Agreement.AdjustedRandIndex, e.Agreement.Records,
            e.Agreement.Proposals, e.Agreement.Fields, (int)topics);
    }

    /// <summary>A hash of everything the report shows (not when it was made), so that the same data gives the same version.</summary>
    public static string Version(ReportModel model)
    {
        var json = JsonSerializer.Serialize(model with { GeneratedAt = default, DataVersion = "" },
            new JsonSerializerOptions(Json.Stored) { IncludeFields = true });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(FormatVersion + "\n" + json)));
    }

    /// <summary>The wording the topic had in the round: its first revision made after that round holds it, else the current one.</summary>
    static (LocalizedText Title, LocalizedText? Background) AsAsked(TopicRow topic, int round,
        IEnumerable<(long TopicId, long AfterRound, string? TitleZh, string? TitleEn, string? BackgroundZh, string? BackgroundEn)> revisions)
    {
        var later = revisions.Where(r => r.AfterRound >= round).OrderBy(r => r.AfterRound).FirstOrDefault();
        if (later.TopicId == 0) return (topic.Title, topic.Background);
        return (new LocalizedText(later.TitleZh, later.TitleEn),
            later.BackgroundZh is null && later.BackgroundEn is null ? null : new LocalizedText(later.BackgroundZh, later.BackgroundEn));
    }

    static List<RankedKeyTechnology> RoundRanking(SurveyDefinition survey, IReadOnlyList<ReportTopic> topics)
    {
        var rows = topics.Select(t => (t, Index: ReportHtml.Index(survey, t.Result))).ToList();
        var byFamw = rows.Where(r => r.Index.FamW is not null).OrderByDescending(r => r.Index.FamW).Select((r, i) => (r.t.Code, i + 1))
            .ToDictionary(x => x.Code, x => x.Item2);
        return rows.Where(r => r.Index.Plain is not null).OrderByDescending(r => r.Index.Plain)
            .Select((r, i) => new RankedKeyTechnology(i + 1, byFamw.TryGetValue(r.t.Code, out var f) ? f : null, r.t.Code, r.t.Title,
                r.Index.Plain, r.Index.FamW, r.t.Result.State)).ToList();
    }

    static async Task<List<RoundFacts>> FactsAsync(SqliteConnection c, SurveyDefinition survey, long surveyId, List<RoundRow> rounds,
        Dictionary<int, Dictionary<string, TopicResult>> snapshots)
    {
        var responders = new Dictionary<int, HashSet<long>>();
        foreach (var r in rounds)
            responders[r.Number] = (await c.QueryAsync<long>("SELECT DISTINCT member_id FROM topic_answers WHERE round_id = @Id", new { r.Id })).ToHashSet();
        return rounds.Select(r => new RoundFacts(r.Number, Db.FromIso(r.OpenedAt),
            r.ClosedAt is null ? null : Db.FromIso(r.ClosedAt), r.RulesVersion,
            snapshots[r.Number].Count, r.Invited ?? 0, r.Responded ?? 0, r.Finished ?? 0,
            responders.TryGetValue(r.Number - 1, out var before) ? before.Count(m => !responders[r.Number].Contains(m)) : null,
            snapshots[r.Number].Values.Count(t => t.Settled), r.DataHash)).ToList();
    }

    static async Task<PanelComposition> PanelAsync(SqliteConnection c, SurveyDefinition survey, long surveyId)
    {
        var orgType = await Feedback.GroupsAsync(c, survey, surveyId, ProfileRole.OrgType);
        var region = await Feedback.GroupsAsync(c, survey, surveyId, ProfileRole.Region);
        var members = (await c.QueryAsync<long>("SELECT id FROM panel_members WHERE survey_id = @surveyId AND revoked_at IS NULL", new { surveyId })).ToList();
        List<GroupCount> Count(Dictionary<long, string> groups, ProfileRole role)
        {
            var options = survey.Profile.FirstOrDefault(p => p.Role == role)?.Options ?? [];
            return members.GroupBy(m => groups.GetValueOrDefault(m) ?? "").OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new GroupCount(g.Key, options.FirstOrDefault(o => o.Code == g.Key)?.Label, g.Count())).ToList();
        }
        return new PanelComposition(members.Count, Count(orgType, ProfileRole.OrgType), Count(region, ProfileRole.Region));
    }
}
