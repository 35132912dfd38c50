using Microsoft.Extensions.Options;

namespace Foresight.Server.Plumbing;

/// <summary>Settings under "Foresight" in appsettings.json, environment variables (Foresight__Database) or the command line.</summary>
public sealed class ForesightOptions
{
    public const string Section = "Foresight";

    /// <summary>SQLite database file; relative paths are under the content root. The directory is created.</summary>
    public string Database { get; set; } = "data/foresight.db";

    /// <summary>
    /// The key that encrypts the data-protection keys in data/keys: the base64 of 32 random bytes. Not kept in the data
    /// folder; read once at start-up (<see cref="Plumbing.MasterKey"/>).
    /// </summary>
    public string? MasterKey { get; set; }

    /// <summary>Instead of <see cref="MasterKey"/>: a file holding it (e.g. a Docker or systemd secret); relative paths are under the content root.</summary>
    public string? MasterKeyFile { get; set; }

    /// <summary>Production: without MasterKey or MasterKeyFile the server does not start (instead of generating one in ~/.config).</summary>
    public bool RequireMasterKey { get; set; }

    /// <summary>SQLite's synchronous setting: NORMAL survives a process crash (WAL), FULL also a power cut; EXTRA is FULL and more.</summary>
    public string Synchronous { get; set; } = "NORMAL";

    public static readonly string[] SynchronousValues = ["NORMAL", "FULL", "EXTRA"];

    /// <summary>
    /// The address experts and stakeholders use, for the links in answers and e-mails. Unset, links carry the address
    /// of the request that made them: for e-mails, the coordinator's request that opened the round or added the expert.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary><see cref="PublicUrl"/> without a trailing slash; null when it is not set (an empty value counts as not set).</summary>
    public string? PublicBase => string.IsNullOrWhiteSpace(PublicUrl) ? null : PublicUrl.Trim().TrimEnd('/');

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

/// <summary>
/// Settings the server does not understand stop it at start-up (ValidateOnStart), each named with what it may be: a
/// value taken for another (a misspelt FULL run as NORMAL) would fail the operator silently.
/// </summary>
public sealed class ForesightOptionsValidation : IValidateOptions<ForesightOptions>
{
    public ValidateOptionsResult Validate(string? name, ForesightOptions o)
    {
        var errors = new List<string>();
        // Case does not matter (SQLite ignores it); anything else, spaces included, is a mistake.
        if (!ForesightOptions.SynchronousValues.Contains(o.Synchronous, StringComparer.OrdinalIgnoreCase))
            errors.Add($"{ForesightOptions.Section}:Synchronous is \"{o.Synchronous}\"; it must be NORMAL (every acknowledged answer survives a crash of the " +
                "process), " +
                "FULL (also a power cut) or EXTRA.");
        if (o.PublicBase is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme is "http" or "https") && uri.Query.Length == 0
            && uri.Fragment.Length == 0))
            errors.Add($"{ForesightOptions.Section}:PublicUrl is \"{o.PublicUrl}\"; it must be the address experts open, with http:// or https://, such as " +
                "https://foresight.example.org.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class ForesightOptionsSetup
{
    /// <summary>Binds "Foresight" and checks it when the server starts.</summary>
    public static IServiceCollection AddForesightOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ForesightOptions>().Bind(configuration.GetSection(ForesightOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ForesightOptions>, ForesightOptionsValidation>();
        return services;
    }
}

public sealed class InsightsOptions
{
    /// <summary>Off: no insights pages or endpoints, no evidence on topics; every other part of the platform works as before.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Largest literature export accepted, in bytes (a Scopus CSV of 10,000 records with abstracts is about 30 MB; a form upload cannot exceed 128
    /// MB).</summary>
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
