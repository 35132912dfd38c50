using System.Globalization;
using System.Security.Claims;
using System.Text;
using Dapper;
using ClosedXML.Excel;
using Foresight.Core.Consensus;
using Foresight.Core.LongFormat;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;

namespace Foresight.Server.Features.Exports;

/// <summary>A file to download.</summary>
public sealed record ExportFile(byte[] Bytes, string ContentType, string Name);

public static class ExportsEndpoints
{
    public static IServiceCollection AddExports(this IServiceCollection services) => services.AddSingleton<ExportsService>();


    public static void MapExports(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/exports").WithTags("Exports")
            .RequireAuthorization().RequireSurveyRole(SurveyRole.Coordinator | SurveyRole.Stakeholder);
        group.MapGet("/answers.csv", async (SurveyRef survey, ClaimsPrincipal user, ExportsService exports) =>
            File(await exports.AnswersCsvAsync(survey, user)))
            .RequireAuthorization(Policies.Coordinator)
            .WithSummary("Every answer of every round in long format (the input of `foresight stats`); experts by pseudonym");
        group.MapGet("/consensus.csv", async (SurveyRef survey, ClaimsPrincipal user, ExportsService exports) =>
            Result(await exports.ConsensusCsvAsync(survey, user))).WithSummary("The consensus of every closed round, one row per topic and question");
        group.MapGet("/consensus.xlsx", async (SurveyRef survey, ClaimsPrincipal user, ExportsService exports) =>
            Result(await exports.ConsensusXlsxAsync(survey, user))).WithSummary("The same as an Excel workbook, one sheet per round");
    }

    static IResult File(ExportFile f) => TypedResults.File(f.Bytes, f.ContentType, f.Name);

    static IResult Result(Outcome<ExportFile> outcome) => outcome.Refusal is { } r ? r.ToProblem() : File(outcome.Value!);
}

/// <summary>
/// Data for analysts. answers.csv is the long format `foresight stats` reads: round,item_id,expert_id,familiarity,answer,
/// then kind, scale_min, scale_max, agree, familiarity_weight, rank_group, answer_code, rationale. Experts appear by
/// pseudonym only; every export is in the audit log.
/// </summary>
public sealed class ExportsService(Db db, ConsensusService consensus, SurveyCatalog catalog, TimeProvider clock)
{
    public static readonly string[] Header =
        ["round", "item_id", "expert_id", "familiarity", "answer", "kind", "scale_min", "scale_max", "agree", "familiarity_weight", "rank_group", "answer_code",
        "rationale"];

    public static readonly string[] ConsensusHeader =
        ["round", "topic", "field", "question", "kind", "n", "n_skip", "n_dont_know", "n_never", "median", "q1", "q3", "iqr", "mean", "sd", "cv", "min", "max",
         "pct_agree", "pct_never", "importance_index", "importance_index_famw", "importance_index_fam_ge3", "polarized", "state", "n_pairs", "pct_changed",
         "wilcoxon_v", "wilcoxon_p", "stable", "topic_state", "topic_stable", "settled"];

    /// <summary>Stakeholders read the aggregate exports once the survey has published a report; coordinators always.</summary>
    static async Task<bool> MayReadAsync(ClaimsPrincipal user, Microsoft.Data.Sqlite.SqliteConnection c, long surveyId) =>
        !user.IsInRole(Roles.Stakeholder)
        || await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM report_publications WHERE survey_id = @surveyId", new { surveyId }) > 0;

    /// <summary>The rows of the consensus export: every closed round's stored result.</summary>
    async Task<List<(int Round, List<string?[]> Rows)>> ConsensusRowsAsync(Microsoft.Data.Sqlite.SqliteConnection c, long surveyId)
    {
        var result = new List<(int, List<string?[]>)>();
        foreach (var round in (await RoundStore.AllAsync(c, surveyId)).Where(r => !r.IsOpen))
        {
            var rr = await consensus.GetAsync(c, round);
            var rows = new List<string?[]>();
            foreach (var t in rr.Topics)
                foreach (var q in t.Questions.Where(q => q.Summary is not null))
                {
                    var s = q.Summary!;
                    rows.Add([round.Number.ToString(), t.Topic, t.Field, q.Question, q.Kind.ToString().ToLowerInvariant(),
                        s.N.ToString(), s.NSkip.ToString(), s.NDontKnow.ToString(), s.NNever.ToString(), N(s.Median), N(s.Q1), N(s.Q3), N(s.Iqr), N(s.Mean),
                        N(s.Sd), N(s.Cv),
                        N(s.Min), N(s.Max), N(s.PctAgree), N(s.PctNever), N(s.ImportanceIndex), N(s.ImportanceIndexFamW), N(s.ImportanceIndexFamGe3),
                        s.Polarization is { } p ? (p.Polarized ? "true" : "false") : "", q.State ?? "", q.Stability?.NPairs.ToString() ?? "",
                        N(q.Stability?.PctChanged), N(q.Stability?.WilcoxonV), N(q.Stability?.WilcoxonP), q.Stable is { } st ? (st ? "true" : "false") : "",
                        t.State, t.Stable is { } ts ? (ts ? "true" : "false") : "", t.Settled ? "true" : "false"]);
                }
            result.Add((round.Number, rows));
        }
        return result;
    }

    /// <summary>Every export is in the audit log, by whom (coordinator or stakeholder) and which file.</summary>
    async Task LogExportAsync(ClaimsPrincipal user, SurveyRef survey, string file)
    {
        await using var w = await db.BeginWriteAsync();
        await Audit.LogAsync(w.Connection, w.Transaction, clock, user.UserId(), survey.Id, "data.exported", new { file });
        await w.CommitAsync();
    }

    static string N(double? v) => v is { } x ? Num(x) : "";

    public async Task<Outcome<ExportFile>> ConsensusCsvAsync(SurveyRef survey, ClaimsPrincipal user)
    {
        await using var c = await db.OpenAsync();
        if (!await MayReadAsync(user, c, survey.Id)) return Refusal.Forbidden("The survey has published no report yet.");
        var w = new StringWriter(CultureInfo.InvariantCulture);
        Csv.WriteRow(w, ConsensusHeader);
        foreach (var (_, rows) in await ConsensusRowsAsync(c, survey.Id))
            foreach (var row in rows) Csv.WriteRow(w, row);
        await LogExportAsync(user, survey, "consensus.csv");
        return new ExportFile(Encoding.UTF8.GetBytes(w.ToString()), "text/csv; charset=utf-8", $"{survey.Slug}-consensus.csv");
    }

    public async Task<Outcome<ExportFile>> ConsensusXlsxAsync(SurveyRef survey, ClaimsPrincipal user)
    {
        await using var c = await db.OpenAsync();
        if (!await MayReadAsync(user, c, survey.Id)) return Refusal.Forbidden("The survey has published no report yet.");
        var definition = await catalog.DefinitionAsync(survey.Id);
        var rounds = await RoundStore.AllAsync(c, survey.Id);
        using var book = new XLWorkbook();
        var about = book.Worksheets.Add("About");
        about.Cell(1, 1).Value = definition.Title.Get(Core.Surveys.Languages.English);
        about.Cell(2, 1).Value = definition.Title.Get(Core.Surveys.Languages.Chinese);
        about.Cell(4, 1).Value = "round";
        about.Cell(4, 2).Value = "closed";
        about.Cell(4, 3).Value = "data hash";
        int line = 5;
        foreach (var r in rounds.Where(r => !r.IsOpen))
        {
            about.Cell(line, 1).Value = r.Number;
            about.Cell(line, 2).Value = r.ClosedAt;
            about.Cell(line++, 3).Value = r.DataHash;
        }
        about.Cell(line + 1, 1).Value = "Statistics conventions: docs/statistics.md. Experts are not identified.";
        about.Column(1).Width = 12;
        about.Column(3).Width = 70;
        foreach (var (number, rows) in await ConsensusRowsAsync(c, survey.Id))
        {
            var sheet = book.Worksheets.Add($"Round {number}");
            for (int i = 0; i < ConsensusHeader.Length; i++) sheet.Cell(1, i + 1).Value = ConsensusHeader[i];
            sheet.Row(1).Style.Font.Bold = true;
            for (int r = 0; r < rows.Count; r++)
                for (int i = 0; i < rows[r].Length; i++)
                {
                    var v = rows[r][i];
                    var cell = sheet.Cell(r + 2, i + 1);
                    if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) cell.Value = d;
                    else cell.Value = v ?? "";
                }
            sheet.SheetView.FreezeRows(1);
            sheet.Column(2).Width = 12;
            sheet.Column(4).Width = 22;
        }
        var stream = new MemoryStream();
        book.SaveAs(stream);
        await LogExportAsync(user, survey, "consensus.xlsx");
        return new ExportFile(stream.ToArray(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", $"{survey.Slug}-consensus.xlsx");
    }

    public async Task<ExportFile> AnswersCsvAsync(SurveyRef survey, ClaimsPrincipal user)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        await using var c = await db.OpenAsync();
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        await WriteAnswersAsync(c, definition, survey.Id, writer);
        await LogExportAsync(user, survey, "answers.csv");
        return new ExportFile(Encoding.UTF8.GetBytes(writer.ToString()), "text/csv; charset=utf-8", $"{survey.Slug}-answers.csv");
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
                        lines.Add([round.Number.ToString(), $"{group.Key.Topic}.{q.Id}", group.Key.Pseudonym, fam is null ? ""
                            : Num(fam.Value), answer, Kind(q),
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
