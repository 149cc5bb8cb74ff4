#!/usr/bin/env bash
# The original Makefile's credential step, rebuilt for the benchmark: three
# `aws configure get` calls for the role profile, then `aws sts assume-role` with the
# source profile's keys, its output turned into `export` lines.
#
# Reads: AWS_PROFILE (the role profile), SOURCE_PROFILE (the profile whose keys assume
# it), MFA_CODE (the code the Makefile would have prompted for), AWS (the AWS CLI,
# default `aws`), and whatever the AWS CLI itself reads (HOME, AWS_ENDPOINT_URL, …).
set -euo pipefail

aws_cli="${AWS:-aws}"
role_arn="$("$aws_cli" configure get role_arn --profile "$AWS_PROFILE")"
session_name="$("$aws_cli" configure get role_session_name --profile "$AWS_PROFILE")"
serial="$("$aws_cli" configure get mfa_serial --profile "$AWS_PROFILE")"
read -r key secret token < <(
    "$aws_cli" sts assume-role --profile "$SOURCE_PROFILE" \
        --role-arn "$role_arn" --role-session-name "$session_name" \
        --serial-number "$serial" --token-code "$MFA_CODE" \
        --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text
)
printf 'export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_SESSION_TOKEN=%s\n' \
    "$key" "$secret" "$token"
