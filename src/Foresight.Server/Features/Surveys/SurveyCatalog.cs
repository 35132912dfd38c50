using System.Collections.Concurrent;
using System.Text.Json;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Surveys;

/// <summary>
/// Parsed survey definitions and consensus-rule versions, cached: a survey file is parsed once, not per request.
/// The question set never changes once a round has opened; rule versions never change once written. A survey whose
/// file is replaced or which is deleted is forgotten when its change is published.
/// </summary>
public sealed class SurveyCatalog(Db db) : IChangeHandler<SurveyChanged>, IFollowsEveryNode
{
    readonly ConcurrentDictionary<long, SurveyDefinition> _definitions = new();
    readonly ConcurrentDictionary<(long, int), ConsensusRules> _rules = new();

    public Task HandleAsync(SurveyChanged change)
    {
        _definitions.TryRemove(change.SurveyId, out _);
        return Task.CompletedTask;
    }

    public async Task<SurveyDefinition> DefinitionAsync(long surveyId)
    {
        if (_definitions.TryGetValue(surveyId, out var cached)) return cached;
        await using var c = await db.OpenAsync();
        var (yaml, file) = await c.QuerySingleAsync<(string, string)>("SELECT definition, file_name FROM surveys WHERE id = @surveyId", new { surveyId });
        var parsed = SurveyFile.Parse(yaml, file);
        if (!parsed.Ok) throw new InvalidOperationException($"stored definition of survey {surveyId} no longer parses: {parsed.Errors[0]}");
        return _definitions[surveyId] = parsed.Survey!;
    }

    public async Task<ConsensusRules> RulesAsync(long surveyId, int version)
    {
        if (_rules.TryGetValue((surveyId, version), out var cached)) return cached;
        await using var c = await db.OpenAsync();
        var json = await c.QuerySingleAsync<string>("SELECT rules FROM consensus_rules WHERE survey_id = @surveyId AND version = @version",
            new { surveyId, version });
        return _rules[(surveyId, version)] = JsonSerializer.Deserialize<ConsensusRules>(json, Json.Stored)!;
    }

    public static async Task<int> CurrentRulesVersionAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null) =>
        await c.ExecuteScalarAsync<int>("SELECT MAX(version) FROM consensus_rules WHERE survey_id = @surveyId", new { surveyId }, tx);
}
