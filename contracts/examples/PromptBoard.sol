// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylConsumer} from "../consumer/SibylConsumer.sol";
import {ISibylCoordinator} from "../interfaces/ISibylCoordinator.sol";
import {ResultStatus} from "../interfaces/SibylTypes.sol";

/// @title PromptBoard
/// @notice A public board of questions put to one model, each answered onchain.
contract PromptBoard is SibylConsumer {
    struct Entry {
        address asker;
        bool answered;
        ResultStatus status;
        string question;
        bytes answer;
    }

    /// @notice Less ether was sent than the coordinator's fee.
    error PromptBoard__PaymentTooLow(uint256 paid, uint256 fee);
    /// @notice Returning the overpayment to the asker failed.
    error PromptBoard__RefundFailed(address asker, uint256 amount);

    event QuestionAsked(uint256 indexed requestId, address indexed asker, string question);
    event QuestionAnswered(uint256 indexed requestId, ResultStatus status, bytes answer);

    /// @notice The model every question goes to.
    bytes32 public immutable modelId;
    /// @notice Gas each answer is delivered with; enough to store an answer of the model's size.
    uint32 public immutable callbackGasLimit;

    mapping(uint256 requestId => Entry entry) private _entries;

    constructor(
        ISibylCoordinator coordinator,
        bytes32 modelId_,
        uint32 callbackGasLimit_
    ) SibylConsumer(coordinator) {
        modelId = modelId_;
        callbackGasLimit = callbackGasLimit_;
    }

    /// @notice The fee `ask` needs right now.
    function askFee() external view returns (uint256) {
        return sibylCoordinator.estimateFee(modelId, callbackGasLimit);
    }

    /// @notice Puts `question` to the model; send at least askFee(), the rest comes back. Fees refunded
    /// from cancelled (unanswered) questions pay towards it first.
    function ask(string calldata question) external payable returns (uint256 requestId) {
        uint256 available = msg.value + _reclaimSibylBalance();
        uint256 fee = sibylCoordinator.estimateFee(modelId, callbackGasLimit);
        if (available < fee) revert PromptBoard__PaymentTooLow(available, fee);
        requestId = _requestSibyl(modelId, bytes(question), callbackGasLimit, fee);
        _entries[requestId] = Entry({
            asker: msg.sender,
            answered: false,
            status: ResultStatus.Ok,
            question: question,
            answer: ""
        });
        emit QuestionAsked(requestId, msg.sender, question);
        if (available > fee) {
            (bool refunded, ) = msg.sender.call{value: available - fee}("");
            if (!refunded) revert PromptBoard__RefundFailed(msg.sender, available - fee);
        }
    }

    function entryOf(uint256 requestId) external view returns (Entry memory) {
        return _entries[requestId];
    }

    function _onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) internal override {
        Entry storage entry = _entries[requestId];
        entry.answered = true;
        entry.status = status;
        entry.answer = output;
        emit QuestionAnswered(requestId, status, output);
    }
}
