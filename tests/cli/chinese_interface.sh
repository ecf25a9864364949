#!/usr/bin/env bash
# The Chinese interface on the console: --lang zh and a zh_* locale give Chinese --help,
# usage errors and runtime errors; English stays the default and --lang en wins over the
# locale. Usage: chinese_interface.sh UNET_BINARY WORK_DIR
source "$(dirname "$0")/lib.sh" "$1" "$2"
cd "$work"
# A clean slate: the environment of the test runner must not choose for us.
unset LANGUAGE LC_ALL LC_MESSAGES
export LANG=C.UTF-8
has() { grep -qF -- "$1" "$2" || fail "'$1' not in $2: $(head -c 600 "$2")"; }
lacks() { ! grep -qF -- "$1" "$2" || fail "'$1' should not be in $2"; }

# --help: the option descriptions and CLI11's own labels.
"$unet" --lang zh train --help > help_zh.txt
has "运行目录（检查点、metrics.csv、report.html）" help_zh.txt   # --out
has "在 Kaggle LGG 布局" help_zh.txt                             # the subcommand's description
has "用法: " help_zh.txt
has "选项:" help_zh.txt
lacks "Options:" help_zh.txt
lacks "run folder (checkpoints" help_zh.txt
"$unet" train --help > help_en.txt
has "run folder (checkpoints, metrics.csv, report.html)" help_en.txt
lacks "运行目录" help_en.txt
"$unet" --lang zh --help > top_zh.txt
has "用于脑部 MRI 分割的 U-Net 训练与推理" top_zh.txt
has "子命令" top_zh.txt
has "--lang" top_zh.txt

# A runtime error (the data folder is missing): Chinese with --lang zh, English by default.
expect_status 1 err_zh.txt "$unet" --lang zh train --data "$work/no-such-folder" --out "$work/run" --device cpu
has "unet：错误：" err_zh.txt
has "不是文件夹（--data 必须指向数据集的文件夹）" err_zh.txt
expect_status 1 err_en.txt "$unet" train --data "$work/no-such-folder" --out "$work/run" --device cpu
has "unet: error: " err_en.txt
has "is not a folder (--data must name the data set's folder)" err_en.txt
lacks "错误" err_en.txt
lacks "数据" err_en.txt

# The locale chooses when --lang is absent; --lang (also after the subcommand) wins over it.
expect_status 1 err_lang.txt env LANG=zh_CN.UTF-8 "$unet" train --data "$work/no-such-folder" --out "$work/run" --device cpu
has "不是文件夹（--data 必须指向数据集的文件夹）" err_lang.txt
expect_status 1 err_lc.txt env LC_ALL=zh_TW.UTF-8 "$unet" train --data "$work/no-such-folder" --out "$work/run" --device cpu
has "不是文件夹（--data 必须指向数据集的文件夹）" err_lc.txt
expect_status 1 err_override.txt env LANG=zh_CN.UTF-8 "$unet" train --lang en --data "$work/no-such-folder" --out "$work/run"
has "is not a folder (--data must name the data set's folder)" err_override.txt
expect_status 1 err_language.txt env LANGUAGE=en LANG=zh_CN.UTF-8 "$unet" train --data "$work/no-such-folder" --out "$work/run"
has "is not a folder (--data must name the data set's folder)" err_language.txt

# Usage errors (exit status 2): ours and the option checks' messages in Chinese.
expect_status 2 usage_zh.txt "$unet" --lang zh train --data x --epochs 0
has "unet：用法错误：" usage_zh.txt
has "必须至少为 1，实际为 0" usage_zh.txt
has "运行“unet train --help”查看选项。" usage_zh.txt
expect_status 2 badlang.txt "$unet" --lang fr train --help
has "'fr' is not a language; use en or zh" badlang.txt
expect_status 2 nolang.txt "$unet" train --lang
has "--lang" nolang.txt

# Numbers keep their '.' in Chinese (LC_NUMERIC is never changed): synth's summary line.
"$unet" --lang zh synth --out "$work/data" --patients 2 --seed 1 > synth_zh.txt
has "unet synth：2 名患者" synth_zh.txt
grep -Eq "（[0-9]+\.[0-9] 秒）" synth_zh.txt || fail "synth's seconds are not written with a '.': $(cat synth_zh.txt)"
# The C library's messages quoted in ours (strerror) come in UTF-8, Chinese where glibc has a
# translation (libc-l10n), never as '?' for each character it could not show in ASCII.
expect_status 1 err_errno.txt "$unet" --lang zh train --data "$work/data" --out /proc/no-such-dir/run
has "无法创建输出文件夹：" err_errno.txt
lacks "??" err_errno.txt

echo "the console speaks Chinese with --lang zh and zh_* locales, English otherwise"
