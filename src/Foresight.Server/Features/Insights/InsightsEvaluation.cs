using Foresight.Core;
using Dapper;
using Foresight.Core.Insights;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Insights;

/// <param name="Analysis">the analysis compared: of those with proposals turned into topics, the one with the most records in them</param>
/// <param name="AdjustedRandIndex">its clusters against the fields the coordinators put their topics in; null with fewer than two records</param>
/// <param name="Records">records compared: every record of that analysis's proposals turned into topics of one field</param>
/// <param name="Proposals">that analysis's proposals turned into topics of one field</param>
/// <param name="LeftOut">proposals turned into topics of more than one field (a split across fields): their records have no single field</param>
/// <param name="NearestFieldMatches">proposals (of every analysis) whose topics all went to the field the machine found nearest</param>
public sealed record FieldAgreement(long? Analysis, double? AdjustedRandIndex, int Records, int Proposals, int Fields, int LeftOut, int NearestFieldMatches);

public sealed record InsightsEvaluationView(int Analyses, long Records, int Proposals, int Open, DecisionCounts Decided, DecisionShares Shares,
    FieldAgreement Agreement);

/// <summary>
/// How the machine layer did (design 1.7: the platform evaluates its own machine analysis): shares of proposals
/// accepted, edited, merged, split and rejected, counted per proposal; and the agreement between the machine's
/// clusters and the experts' field assignment, as the adjusted Rand index between two labellings of the same records:
/// the proposal each record was clustered into, and the field of the topic the coordinators made of that proposal,
/// over the records of one analysis (each record is in one of its clusters).
/// 1 means the coordinators kept the machine's grouping at field level (no two proposals in one field); values near 0
/// mean the fields cut across the machine's clusters as chance would.
/// </summary>
public static class InsightsEvaluation
{
    public static async Task<InsightsEvaluationView> ComputeAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null)
    {
        var statuses = (await c.QueryAsync<string>("SELECT status FROM insight_proposals WHERE survey_id = @surveyId", new { surveyId }, tx))
            .Select(ProposalStatus.Parse).ToList();
        var decided = DecisionCounts.Of(statuses.Where(s => s != ProposalStatus.Open).Select(s => Enum.Parse<ReviewDecision>(s.Name, ignoreCase: true)));
        var analyses = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM insight_analyses WHERE survey_id = @surveyId", new { surveyId }, tx);
        var records = await c.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM literature_records r WHERE r.survey_id = @surveyId AND {Literature.Visible}",
            new { surveyId }, tx);

        // The fields each kept proposal's topics went to.
        var kept = (await c.QueryAsync<(long Proposal, long Analysis, long Field, string FieldCode, string? Nearest)>("""
            SELECT DISTINCT p.id, p.analysis_id, t.field_id, f.code, p.nearest_field FROM insight_proposals p
            JOIN topic_evidence e ON e.proposal_id = p.id JOIN topics t ON t.id = e.topic_id JOIN fields f ON f.id = t.field_id
            WHERE p.survey_id = @surveyId
            """, new { surveyId }, tx)).GroupBy(r => r.Proposal).ToList();
        var single = kept.Where(g => g.Count() == 1).Select(g => g.Single()).ToList();
        // One analysis is one partition of its records; two analyses of the same records are two. The index is of the
        // analysis with the most records in kept proposals (the latest on a tie), so no record is counted twice.
        var members = single.Count == 0 ? [] : (await c.QueryAsync<(long Proposal, long Record)>(
            "SELECT proposal_id, record_id FROM insight_proposal_records WHERE proposal_id IN @ids", new { ids = single.Select(s => s.Proposal).ToList() },
            tx)).ToList();
        var analysisOf = single.ToDictionary(s => s.Proposal, s => s.Analysis);
        long? analysis = members.Count == 0 ? null
            : members.GroupBy(m => analysisOf[m.Proposal]).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).First().Key;
        var compared = members.Where(m => analysisOf[m.Proposal] == analysis).ToList();
        var proposals = single.Where(s => s.Analysis == analysis).ToList();
        var fieldOf = single.ToDictionary(s => s.Proposal, s => s.Field);
        var machine = compared.Select(m => (int)m.Proposal).ToList();
        var experts = compared.Select(m => (int)fieldOf[m.Proposal]).ToList();
        double? ari = compared.Count < 2 ? null : Evaluation.AdjustedRandIndex(machine, experts);
        var agreement = new FieldAgreement(analysis, ari, compared.Count, proposals.Count, proposals.Select(s => s.Field).Distinct().Count(),
            kept.Count - single.Count,
            single.Count(s => s.Nearest == s.FieldCode));
        return new InsightsEvaluationView((int)analyses, records, statuses.Count, statuses.Count(s => s == ProposalStatus.Open), decided,
            Evaluation.Shares(decided),
            agreement);
    }
}
