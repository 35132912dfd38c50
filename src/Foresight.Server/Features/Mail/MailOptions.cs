namespace Foresight.Server.Features.Mail;

/// <summary>Settings under "Foresight:Mail". Without a host, messages wait in the outbox until one is configured.</summary>
public sealed class MailOptions
{
    public const string Section = "Foresight:Mail";

    public string? Host { get; set; }
    public int Port { get; set; } = 587;
    public string? Username { get; set; }
    public string? Password { get; set; }
    /// <summary>None, Auto, StartTls, StartTlsWhenAvailable or SslOnConnect (MailKit's SecureSocketOptions).</summary>
    public string Security { get; set; } = "StartTlsWhenAvailable";
    public string From { get; set; } = "Foresight <foresight@localhost>";

    /// <summary>
    /// Reminders to experts who have not finished, this long before the round's deadline; by default 3 days and 1 day.
    /// (Null until configured: the configuration binder would add to a list that had defaults.)
    /// </summary>
    public List<TimeSpan>? Reminders { get; set; }

    public IReadOnlyList<TimeSpan> ReminderTimes => Reminders ?? [TimeSpan.FromDays(3), TimeSpan.FromDays(1)];

    /// <summary>Attempts before a message is given up as failed; the waits between them grow (see <see cref="Backoff"/>).</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The wait before the first retry; each further retry waits four times as long.</summary>
    public TimeSpan FirstRetry { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan Backoff(int attempts) => FirstRetry * Math.Pow(4, Math.Max(0, attempts - 1));
}

public static class MailServices
{
    public static IServiceCollection AddMail(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<MailOptions>(configuration.GetSection(MailOptions.Section));
        services.AddSingleton<Outbox>();
        services.AddSingleton<OutboxSender>();
        return services;
    }
}
