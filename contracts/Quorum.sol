// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ResultStatement} from "./interfaces/SibylTypes.sol";
import {OperatorRegistry} from "./OperatorRegistry.sol";

/// @title Quorum
/// @notice Results of a model with quorum q carry q − 1 other active operators' signatures of the same
/// answer (EIP-712 ResultStatement), and an operator that signs two answers to one request loses stake.
abstract contract Quorum is OperatorRegistry {
    /// @notice Most operators a model may ask to agree.
    uint8 public constant MAX_QUORUM = 16;
    uint256 private constant SIGNATURE_BYTES = 65;
    bytes32 private constant RESULT_STATEMENT_TYPEHASH = keccak256(
        "ResultStatement(uint256 requestId,bytes32 outputHash,uint8 status)"
    );

    /// @dev Block a report was committed in, by keccak256(abi.encode(reporter, evidence)).
    mapping(bytes32 commitment => uint256 blockNumber) private _reportCommittedAt;
    mapping(address operator => mapping(uint256 requestId => bool slashed)) private _slashedFor;

    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );

    /// @notice The EIP-712 digest an operator signs to vouch for a statement.
    function statementDigest(ResultStatement calldata statement) external view returns (bytes32) {
        return _statementDigest(statement.requestId, statement.outputHash, statement.status);
    }

    /// @notice Step one of a report: see ISibylCoordinator.commitEquivocationReport.
    function commitEquivocationReport(bytes32 commitment) external {
        if (_reportCommittedAt[commitment] == 0) _reportCommittedAt[commitment] = block.number;
    }

    /// @notice Slashes an operator that signed two answers to one request: see ISibylCoordinator.
    function reportEquivocation(
        ResultStatement calldata a,
        bytes calldata signatureA,
        ResultStatement calldata b,
        bytes calldata signatureB
    ) external nonReentrant {
        bytes32 commitment = keccak256(abi.encode(msg.sender, a, signatureA, b, signatureB));
        uint256 committedAt = _reportCommittedAt[commitment];
        if (committedAt == 0 || committedAt >= block.number) revert ReportNotCommitted(commitment);
        address signerA = _signerOf(a, signatureA);
        address signerB = _signerOf(b, signatureB);
        bool sameAnswer = a.outputHash == b.outputHash && a.status == b.status;
        if (a.requestId != b.requestId || sameAnswer || signerA != signerB || signerA == address(0)) {
            revert NotEquivocation(a.requestId, signerA, signerB);
        }
        if (_slashedFor[signerA][a.requestId]) revert EquivocationAlreadySlashed(signerA, a.requestId);
        _slashedFor[signerA][a.requestId] = true;
        _slash(signerA, a.requestId, msg.sender);
    }

    /// @dev Checks that `signatures` are `needed` distinct active operators' signatures of the answer,
    /// none the deliverer's (msg.sender), signers ascending.
    function _checkCosigners(
        uint256 requestId,
        bytes32 outputHash,
        uint8 status,
        bytes calldata signatures,
        uint256 needed
    ) internal view {
        if (signatures.length != needed * SIGNATURE_BYTES) {
            revert WrongSignatureCount(requestId, signatures.length / SIGNATURE_BYTES, needed);
        }
        if (needed == 0) return;
        bytes32 digest = _statementDigest(requestId, outputHash, status);
        address previous;
        for (uint256 offset; offset < signatures.length; offset += SIGNATURE_BYTES) {
            (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(
                digest,
                signatures[offset:offset + SIGNATURE_BYTES]
            );
            if (error != ECDSA.RecoverError.NoError || signer <= previous)
                revert InvalidCosigner(requestId, signer);
            if (signer == msg.sender || !_isActive(signer)) revert InvalidCosigner(requestId, signer);
            previous = signer;
        }
    }

    function _signerOf(
        ResultStatement calldata statement,
        bytes calldata signature
    ) private view returns (address) {
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(
            _statementDigest(statement.requestId, statement.outputHash, statement.status),
            signature
        );
        return error == ECDSA.RecoverError.NoError ? signer : address(0);
    }

    function _statementDigest(
        uint256 requestId,
        bytes32 outputHash,
        uint8 status
    ) private view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(RESULT_STATEMENT_TYPEHASH, requestId, outputHash, status));
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    /// @dev The domain {name: "Sibyl", version: "1", chainId, verifyingContract: this}, computed each
    /// time (a few hundred gas) so a signature for one chain never passes on a fork of it.
    function _domainSeparator() private view returns (bytes32) {
        return
            keccak256(
                abi.encode(DOMAIN_TYPEHASH, keccak256("Sibyl"), keccak256("1"), block.chainid, address(this))
            );
    }
}
