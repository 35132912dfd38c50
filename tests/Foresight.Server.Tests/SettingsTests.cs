using Foresight.Server.Plumbing;
using Microsoft.Extensions.DependencyInjection;

namespace Foresight.Server.Tests;

/// <summary>
/// Settings the server does not understand stop it at start, with what the operator reads on the console: the
/// setting's name, its value and what it may be; no stack trace, exit code 1, and nothing started.
/// </summary>
public sealed class SettingsTests
{
    /// <summary>Starts the Release server as a process with the settings; returns what it printed as it stopped.</summary>
    static async Task<string> RefusedAsync(params string[] settings)
    {
        ServerProcess? started = null;
        try
        {
            started = await ServerProcess.StartAsync(settings);
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
        finally
        {
            if (started is not null) await started.DisposeAsync();
        }
        Assert.Fail($"the server started with {string.Join(' ', settings)}");
        return "";
    }

    [Theory]
    [InlineData("BOGUS")]
    [InlineData("OFF")]
    [InlineData("FULL ")]
    public async Task A_synchronous_value_the_server_does_not_understand_stops_it_naming_the_setting(string value)
    {
        var output = await RefusedAsync($"--Foresight:Synchronous={value}");
        Assert.Contains("the server exited with code 1", output);
        Assert.Contains($"Foresight:Synchronous is \"{value}\"; it must be NORMAL", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task Every_bad_setting_is_named_at_once()
    {
        var output = await RefusedAsync("--Foresight:PublicUrl=foresight.example.org", "--Foresight:Mail:Security=TLS", "--Foresight:Mail:From=foresight");
        Assert.Contains("Foresight:PublicUrl is \"foresight.example.org\"; it must be the address experts open, with http:// or https://", output);
        Assert.Contains("Foresight:Mail:Security is \"TLS\"; it must be None, Auto, SslOnConnect, StartTls, StartTlsWhenAvailable", output);
        Assert.Contains("Foresight:Mail:From is \"foresight\"", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("full", "FULL")]
    [InlineData("Extra", "EXTRA")]
    [InlineData("NORMAL", "NORMAL")]
    public void Synchronous_is_read_in_any_case(string value, string pragma)
    {
        using var app = new ForesightFactory().With("Foresight:Synchronous", value);
        Assert.Contains($"PRAGMA synchronous = {pragma};", app.Services.GetRequiredService<Db>().WriterPragmas);
    }
}
