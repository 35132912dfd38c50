using Dapper;
using Foresight.Core.Insights;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Insights;

/// <param name="AdjustedRandIndex">machine clusters against the fields the coordinators put their topics in; null with fewer than two records</param>
/// <param name="Records">records compared: every record of every proposal turned into topics of one field</param>
/// <param name="LeftOut">proposals turned into topics of more than one field (a split across fields): their records have no single field</param>
/// <param name="NearestFieldMatches">proposals whose topics went to the field the machine found nearest</param>
public sealed record FieldAgreement(double? AdjustedRandIndex, int Records, int Proposals, int Fields, int LeftOut, int NearestFieldMatches);

public sealed record InsightsEvaluationView(int Analyses, long Records, int Proposals, int Open, DecisionCounts Decided, DecisionShares Shares, FieldAgreement Agreement);

/// <summary>
/// How the machine layer did (design 1.7: the platform evaluates its own machine analysis): shares of proposals
/// accepted, edited, merged, split and rejected, counted per proposal; and the agreement between the machine's
/// clusters and the experts' field assignment, as the adjusted Rand index between two labellings of the same records:
/// the proposal each record was clustered into, and the field of the topic the coordinators made of that proposal.
/// 1 means the coordinators kept the machine's grouping at field level (no two proposals in one field); values near 0
/// mean the fields cut across the machine's clusters as chance would.
/// </summary>
public static class InsightsEvaluation
{
    public static async Task<InsightsEvaluationView> ComputeAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null)
    {
        var statuses = (await c.QueryAsync<string>("SELECT status FROM insight_proposals WHERE survey_id = @surveyId", new { surveyId }, tx)).ToList();
        var decided = DecisionCounts.Of(statuses.Where(s => s != "open").Select(s => Enum.Parse<ReviewDecision>(s, ignoreCase: true)));
        var analyses = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM insight_analyses WHERE survey_id = @surveyId", new { surveyId }, tx);
        var records = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM literature_records WHERE survey_id = @surveyId", new { surveyId }, tx);

        // The fields each kept proposal's topics went to.
        var kept = (await c.QueryAsync<(long Proposal, long Field, string FieldCode, string? Nearest)>("""
            SELECT DISTINCT p.id, t.field_id, f.code, p.nearest_field FROM insight_proposals p
            JOIN topic_evidence e ON e.proposal_id = p.id JOIN topics t ON t.id = e.topic_id JOIN fields f ON f.id = t.field_id
            WHERE p.survey_id = @surveyId
            """, new { surveyId }, tx)).GroupBy(r => r.Proposal).ToList();
        var single = kept.Where(g => g.Count() == 1).Select(g => g.Single()).ToList();
        var members = single.Count == 0 ? [] : (await c.QueryAsync<(long Proposal, long Record)>(
            "SELECT proposal_id, record_id FROM insight_proposal_records WHERE proposal_id IN @ids", new { ids = single.Select(s => s.Proposal).ToList() }, tx)).ToList();
        var fieldOf = single.ToDictionary(s => s.Proposal, s => s.Field);
        var machine = members.Select(m => (int)m.Proposal).ToList();
        var experts = members.Select(m => (int)fieldOf[m.Proposal]).ToList();
        double? ari = members.Count < 2 ? null : Evaluation.AdjustedRandIndex(machine, experts);
        var agreement = new FieldAgreement(ari, members.Count, single.Count, single.Select(s => s.Field).Distinct().Count(), kept.Count - single.Count,
            single.Count(s => s.Nearest == s.FieldCode));
        return new InsightsEvaluationView((int)analyses, records, statuses.Count, statuses.Count(s => s == "open"), decided, Evaluation.Shares(decided), agreement);
    }
}
