using Foresight.Core.Surveys;
using UglyToad.PdfPig;
using UglyToad.PdfPig.Annotations;

namespace Foresight.Reports.Tests;

public sealed class RendererFixture : IAsyncLifetime
{
    // The renderer's time limit is only a guard against a hang here: a busy machine may take long over a big report.
    public PdfRenderer Renderer { get; } = new(new PdfOptions { TimeoutSeconds = 1800 });
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("foresight-pdf").FullName;
    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync()
    {
        await Renderer.DisposeAsync();
        System.IO.Directory.Delete(Directory, true);
    }
}

/// <summary>The PDF read back with PdfPig: the text is text (Chinese included), the figures are the model's.</summary>
public sealed class PdfTests(RendererFixture fixture) : IClassFixture<RendererFixture>
{
    static string Squeeze(string s) => new(s.Where(c => !char.IsWhiteSpace(c)).ToArray());

    async Task<(PdfDocument Pdf, string Text)> RenderAsync(ReportModel model, string name)
    {
        var path = Path.Combine(fixture.Directory, name + ".pdf");
        await fixture.Renderer.RenderAsync(ReportHtml.Render(model), "Foresight test", new ReportText(model.Language)["page"], path);
        var pdf = PdfDocument.Open(path);
        return (pdf, string.Concat(pdf.GetPages().Select(p => p.Text)));
    }

    [Theory]
    [InlineData("en")]
    [InlineData("zh-CN")]
    public async Task Topic_names_and_figures_read_back_from_the_pdf(string language)
    {
        var model = Studies.QuickStart(language);
        var (pdf, text) = await RenderAsync(model, "quick-" + language);
        using var _ = pdf;
        var all = Squeeze(text);
        var t = new ReportText(language);
        foreach (var topic in model.Topics)
        {
            Assert.Contains(Squeeze(t.Of(topic.Title)), all);
            var q = topic.Result.Question("importance")!.Summary!;
            Assert.Contains(Squeeze($"n {q.N} · {t["median"]} {Svg.Num(q.Median)} · Q1–Q3 {Svg.Num(q.Q1)}–{Svg.Num(q.Q3)}"), all);
        }
        Assert.Contains(model.DataHash, all);
        Assert.Contains(Squeeze(t.Format("page", 1, pdf.NumberOfPages)), all);
        // Every letter comes from the embedded TrueType font: nothing printed as Type 3 glyphs.
        var fonts = pdf.GetPages().SelectMany(p => p.Letters).Select(l => l.FontName).Distinct().ToList();
        Assert.All(fonts, f => Assert.Contains("WenQuanYi", f));
    }

    [Fact]
    public async Task The_contents_are_linked()
    {
        var model = Studies.QuickStart(Languages.English);
        var (pdf, _) = await RenderAsync(model, "links");
        using var _ = pdf;
        // The contents page links every section and every topic (plus the summary table's topic links).
        var links = pdf.GetPages().SelectMany(p => p.GetAnnotations()).Where(a => a.Type == AnnotationType.Link).ToList();
        var expected = 5 + model.Fields.Count + model.Topics.Count();
        Assert.True(links.Count >= expected, $"{links.Count} links, expected at least {expected}");
        // Internal links: a go-to action or a destination within the document, not a web address.
        Assert.All(links, l => Assert.True(l.Action is UglyToad.PdfPig.Actions.AbstractGoToAction
            || l.AnnotationDictionary.ContainsKey(UglyToad.PdfPig.Tokens.NameToken.Dest),
            $"link {l.AnnotationDictionary} is not internal"));
    }

    /// <summary>
    /// A national-scale report prints whole. How long it takes is not checked here (a busy machine makes any bound
    /// wrong): ReportBenchmark in tests/Foresight.Benchmarks measures it.
    /// </summary>
    [Fact]
    public async Task A_700_topic_report_renders()
    {
        var model = Studies.Generated(700, Languages.Chinese);
        Assert.Equal(700, model.Topics.Count());
        var (pdf, text) = await RenderAsync(model, "national-700");
        using var _ = pdf;
        var all = Squeeze(text);
        Assert.Contains(Squeeze("生成课题0：新型技术在关键行业实现规模化应用"), all);
        Assert.Contains(Squeeze("生成课题699：新型技术在关键行业实现规模化应用"), all);
        Assert.True(pdf.NumberOfPages > 100, $"{pdf.NumberOfPages} pages");
    }
}
