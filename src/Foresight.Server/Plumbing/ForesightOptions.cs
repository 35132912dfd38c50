namespace Foresight.Server.Plumbing;

/// <summary>Settings under "Foresight" in appsettings.json, environment variables (Foresight__Database) or the command line.</summary>
public sealed class ForesightOptions
{
    public const string Section = "Foresight";

    /// <summary>SQLite database file; relative paths are under the content root. The directory is created.</summary>
    public string Database { get; set; } = "data/foresight.db";

    /// <summary>SQLite's synchronous setting: NORMAL survives a process crash (WAL), FULL also a power cut.</summary>
    public string Synchronous { get; set; } = "NORMAL";

    /// <summary>
    /// The address experts and stakeholders use, for the links in answers and e-mails. Unset, links carry the address
    /// of the request that made them: for e-mails, the coordinator's request that opened the round or added the expert.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary><see cref="PublicUrl"/> without a trailing slash; null when it is not set (an empty value counts as not set).</summary>
    public string? PublicBase => string.IsNullOrWhiteSpace(PublicUrl) ? null : PublicUrl.TrimEnd('/');

    /// <summary>The first admin account, created on first run when there is no user yet.</summary>
    public AdminOptions Admin { get; set; } = new();

    /// <summary>A survey file to import on start-up if no survey has its id, with a demo panel (for trying Foresight out).</summary>
    public string? SampleSurvey { get; set; }

    /// <summary>How many demo experts the sample survey's panel gets.</summary>
    public int SampleExperts { get; set; } = 20;

    public int TokenLifetimeDays { get; set; } = 30;

    /// <summary>Largest survey file or CSV import accepted, in bytes.</summary>
    public long MaxImportBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>The machine layer: literature import, machine-proposed topics, argument clusters (Foresight:Insights).</summary>
    public InsightsOptions Insights { get; set; } = new();
}

public sealed class InsightsOptions
{
    /// <summary>Off: no insights pages or endpoints, no evidence on topics; every other part of the platform works as before.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Largest literature export accepted, in bytes (a Scopus CSV of 10,000 records with abstracts is about 30 MB; a form upload cannot exceed 128 MB).</summary>
    public long MaxImportBytes { get; set; } = 100 * 1024 * 1024;

    /// <summary>Most records one analysis clusters: 10,000 take seconds on one core; more wants a narrower filter.</summary>
    public int MaxAnalysisRecords { get; set; } = 50_000;
}

public sealed class AdminOptions
{
    public string Email { get; set; } = "admin@foresight.local";
    /// <summary>When empty, a one-time password is generated and printed at first start.</summary>
    public string? Password { get; set; }
    public string Name { get; set; } = "Administrator";
}
