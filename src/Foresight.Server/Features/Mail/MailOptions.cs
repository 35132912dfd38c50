using MailKit.Security;
using Foresight.Server.Plumbing;
using Microsoft.Extensions.Options;
using MimeKit;

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

/// <summary>Mail settings the sender could not use stop the server at start-up, instead of failing every message later.</summary>
public sealed class MailOptionsValidation : IValidateOptions<MailOptions>
{
    public ValidateOptionsResult Validate(string? name, MailOptions o)
    {
        var errors = new List<string>();
        if (!Enum.GetNames<SecureSocketOptions>().Contains(o.Security, StringComparer.OrdinalIgnoreCase))
            errors.Add($"{MailOptions.Section}:Security is \"{o.Security}\"; it must be {string.Join(", ", Enum.GetNames<SecureSocketOptions>())}.");
        if (!(MailboxAddress.TryParse(o.From, out var from) && from.Address.Contains('@')))
            errors.Add($"{MailOptions.Section}:From is \"{o.From}\"; it must be an e-mail address, such as Foresight <foresight@example.org>.");
        if (o.Port is < 1 or > 65535)
            errors.Add($"{MailOptions.Section}:Port is {o.Port}; it must be a TCP port, 1 to 65535 (usually 587, or 465 with SslOnConnect).");
        if (o.MaxAttempts < 1) errors.Add($"{MailOptions.Section}:MaxAttempts is {o.MaxAttempts}; it must be 1 or more.");
        if (o.FirstRetry <= TimeSpan.Zero) errors.Add($"{MailOptions.Section}:FirstRetry is {o.FirstRetry}; it must be a positive time, such as 00:01:00.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class MailServices
{
    public static IServiceCollection AddMail(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MailOptions>().Bind(configuration.GetSection(MailOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MailOptions>, MailOptionsValidation>();
        services.AddSingleton<Outbox>();
        services.AddSingleton<OutboxSender>();
        services.AddSingleton<MailSchedule>();
        services.AddChangeHandler<RoundOpened, MailSchedule>().AddChangeHandler<DeadlineChanged, MailSchedule>();
        return services;
    }
}
