using System.Globalization;
using System.Security.Claims;
using System.Text;
using Dapper;
using Foresight.Core.LongFormat;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;

namespace Foresight.Server.Features.Exports;

/// <summary>
/// Data for analysts. answers.csv is the long format `foresight stats` reads: round,item_id,expert_id,familiarity,answer,
/// then kind, scale_min, scale_max, agree, familiarity_weight, rank_group, answer_code, rationale. Experts appear by pseudonym only.
/// </summary>
public static class ExportsEndpoints
{
    public static readonly string[] Header =
        ["round", "item_id", "expert_id", "familiarity", "answer", "kind", "scale_min", "scale_max", "agree", "familiarity_weight", "rank_group", "answer_code", "rationale"];

    public static void MapExports(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/exports").WithTags("Exports")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        group.MapGet("/answers.csv", Answers).WithSummary("Every answer of every round in long format (the input of `foresight stats`); experts by pseudonym");
    }

    static async Task<IResult> Answers(SurveyRef survey, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        await using var c = await db.OpenAsync();
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        await WriteAnswersAsync(c, definition, survey.Id, writer);
        await using (var w = await db.BeginWriteAsync())
        {
            await Audit.LogAsync(w.Connection, w.Transaction, user.UserId(), survey.Id, "data.exported", new { file = "answers.csv" });
            await w.CommitAsync();
        }
        return TypedResults.File(Encoding.UTF8.GetBytes(writer.ToString()), "text/csv; charset=utf-8", $"{survey.Slug}-answers.csv");
    }

    public static async Task WriteAnswersAsync(Microsoft.Data.Sqlite.SqliteConnection c, SurveyDefinition survey, long surveyId, TextWriter w)
    {
        Csv.WriteRow(w, Header);
        var familiarity = survey.Familiarity;
        foreach (var round in await RoundStore.AllAsync(c, surveyId))
        {
            var answers = await RoundStore.AnswersAsync(c, round.Id);
            var fieldOf = (await RoundStore.TopicsAsync(c, round.Id)).ToDictionary(t => t.Code, t => t.FieldCode);
            var lines = new List<string?[]>();
            foreach (var group in answers.GroupBy(a => (a.Pseudonym, a.Topic)))
            {
                var byQuestion = group.ToDictionary(a => a.Question);
                var fam = familiarity is not null && byQuestion.TryGetValue(familiarity.Id, out var f) ? f.Number : null;
                string? famWeight = fam is { } fv && familiarity!.Options.FirstOrDefault(o => o.Value == fv)?.Weight is { } fw ? Num(fw) : null;
                bool answeredTopic = group.Any(a => survey.Question(a.Question) is not null);
                if (answeredTopic)
                    foreach (var q in survey.Questions.Where(q => q.AskedIn(round.Number)))
                    {
                        byQuestion.TryGetValue(q.Id, out var a);
                        var bounds = q.ScaleBounds;
                        string? answer = a is null ? "" : q.IsNumeric && a.Number is { } n ? Num(n) : a.Value;
                        lines.Add([round.Number.ToString(), $"{group.Key.Topic}.{q.Id}", group.Key.Pseudonym, fam is null ? "" : Num(fam.Value), answer, Kind(q),
                            bounds is null ? "" : Num(bounds.Value.Min), bounds is null ? "" : Num(bounds.Value.Max), string.Join(';', q.Agree.Select(Num)),
                            famWeight, "", q.IsNumeric && a is not null && a.Number is not null ? a.Value : "", a?.Rationale]);
                    }
                foreach (var r in survey.Rankings.Where(r => byQuestion.ContainsKey(r.Id)))
                {
                    var a = byQuestion[r.Id];
                    var rankGroup = r.Scope == RankingScope.Field ? $"{r.Id}:{fieldOf[group.Key.Topic]}" : r.Id;
                    lines.Add([round.Number.ToString(), $"{group.Key.Topic}.{r.Id}", group.Key.Pseudonym, fam is null ? "" : Num(fam.Value),
                        a.Number is { } rank ? Num(rank) : "", "rank", "", "", "", famWeight, rankGroup, "", null]);
                }
            }
            foreach (var line in lines.OrderBy(l => l[1], StringComparer.Ordinal).ThenBy(l => l[2], StringComparer.Ordinal))
                Csv.WriteRow(w, line);
        }
    }

    static string Kind(Question q) => q.Kind switch
    {
        QuestionKind.Ordinal => "likert",
        QuestionKind.Rating => q.IsRandUcla ? "rand9" : "likert",
        QuestionKind.Year => "year",
        QuestionKind.Choice => "choice",
        QuestionKind.MultiChoice => "multi",
        _ => "text",
    };

    static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
