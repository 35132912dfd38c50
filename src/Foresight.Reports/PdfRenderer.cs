using Microsoft.Playwright;

namespace Foresight.Reports;

public sealed class PdfOptions
{
    public const string Section = "Foresight:Pdf";
    /// <summary>Debian's chromium; Playwright never downloads a browser here.</summary>
    public string ExecutablePath { get; set; } = "/usr/bin/chromium";
    /// <summary>How many reports print at once; each render holds a page of one shared browser.</summary>
    public int MaxConcurrentRenders { get; set; } = 2;
    public int TimeoutSeconds { get; set; } = 300;

    public static readonly string[] Arguments =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         // Measured on the 700-topic report: the renderer's memory falls from about 1.1 GB to 0.8 GB, the printed
         // pages are the same (text identical, pages pixel-identical).
         "--enable-low-end-device-mode",
         // No separate network-service process (the page comes from a file, offline): about 35 MB less.
         "--enable-features=NetworkServiceInProcess2"];
}

/// <summary>
/// Prints HTML to PDF with one chromium kept for the life of the process (started when first needed, started again
/// if it dies) and at most <see cref="PdfOptions.MaxConcurrentRenders"/> renders at a time. The PDF is written to a
/// temporary file and renamed into place, so a half-written file is never served.
/// </summary>
public sealed class PdfRenderer(PdfOptions options) : IAsyncDisposable
{
    readonly SemaphoreSlim _slots = new(Math.Max(1, options.MaxConcurrentRenders));
    readonly SemaphoreSlim _start = new(1, 1);
    IPlaywright? _playwright;
    IBrowser? _browser;

    public int Renders { get; private set; }

    async Task<IBrowser> BrowserAsync()
    {
        if (_browser is { IsConnected: true } b) return b;
        await _start.WaitAsync();
        try
        {
            if (_browser is { IsConnected: true } again) return again;
            if (_browser is not null) await _browser.DisposeAsync();
            _playwright ??= await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = options.ExecutablePath,
                Headless = true,
                Args = PdfOptions.Arguments,
            });
            return _browser;
        }
        finally { _start.Release(); }
    }

    /// <param name="footer">text at the bottom left of every page</param>
    /// <param name="pageLabel">the page-number text at the bottom right, with {0} for the page and {1} for the total</param>
    public async Task RenderAsync(string html, string footer, string pageLabel, string path, CancellationToken ct = default)
    {
        await _slots.WaitAsync(ct);
        try
        {
            var browser = await BrowserAsync();
            await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { JavaScriptEnabled = false, Offline = true });
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(options.TimeoutSeconds * 1000);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = path + ".partial-" + Guid.NewGuid().ToString("n");
            // The page is loaded from a file rather than sent through Playwright's driver: for a national-scale report
            // (8 MB of HTML) that saves the driver and this process some 300 MB and the load a few seconds.
            var source = temporary + ".html";
            try
            {
                await File.WriteAllTextAsync(source, WithMarginText(html, footer, pageLabel), ct);
                await page.GotoAsync(new Uri(source).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
                // The footer is drawn by the stylesheet's @page margin boxes: a header/footer template costs chromium a
                // second layout per page (about a quarter of the print time). Tagged PDF is left off: it made the file
                // six times larger and printing a quarter slower, and text extraction works without it; without it
                // chromium writes no outline, so the contents page's links are the way around the document.
                await page.PdfAsync(new PagePdfOptions
                {
                    Path = temporary,
                    PreferCSSPageSize = true,
                    PrintBackground = true,
                    DisplayHeaderFooter = false,
                    Tagged = false,
                });
                File.Move(temporary, path, overwrite: true);
                Renders++;
            }
            finally
            {
                if (File.Exists(temporary)) File.Delete(temporary);
                if (File.Exists(source)) File.Delete(source);
            }
        }
        finally { _slots.Release(); }
    }

    /// <summary>Adds the custom properties report.css reads in its page-margin boxes, as CSS strings, to the head.</summary>
    public static string WithMarginText(string html, string footer, string pageLabel)
    {
        var style = "<style>" + MarginText(footer, pageLabel) + "</style>";
        var head = html.IndexOf("</head>", StringComparison.OrdinalIgnoreCase);
        return head < 0 ? style + html : html.Insert(head, style);
    }

    static string MarginText(string footer, string pageLabel)
    {
        var page = pageLabel.IndexOf("{0}", StringComparison.Ordinal);
        var total = pageLabel.IndexOf("{1}", StringComparison.Ordinal);
        if (page < 0 || total < page) throw new ArgumentException("The page label needs {0} before {1}.", nameof(pageLabel));
        return ":root{--report-footer:" + CssString(footer)
            + ";--page-before:" + CssString(pageLabel[..page])
            + ";--page-middle:" + CssString(pageLabel[(page + 3)..total])
            + ";--page-after:" + CssString(pageLabel[(total + 3)..]) + "}";
    }

    static string CssString(string text)
    {
        var b = new System.Text.StringBuilder("\"");
        foreach (var c in text)
        {
            if (c is '"' or '\\' or '<' or '>' || char.IsControl(c)) b.Append('\\')
                .Append(((int)c).ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
            else b.Append(c);
        }
        return b.Append('"').ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }
}
